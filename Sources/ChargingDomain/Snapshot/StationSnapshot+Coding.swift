import Foundation

extension StationSnapshot {
    /// The stored bytes of a station: the current version, keys sorted (stable bytes for equal stations).
    public static func encode(_ station: Station) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(StationSnapshot(station))
    }

    /// Reads any version ever written: the `version` key picks the format (none: version 0, the
    /// synthesized encoding of before), and older versions are upgraded step by step to the current one.
    public static func decodeStation(from data: Data) throws -> Station {
        try decodeSnapshot(from: data).station()
    }

    /// The stored snapshot upgraded to the current version.
    public static func decodeSnapshot(from data: Data) throws -> StationSnapshot {
        struct Probe: Decodable { var version: Int? }
        let decoder = JSONDecoder()
        switch try decoder.decode(Probe.self, from: data).version {
        case nil, 0?:
            return try decoder.decode(StationSnapshotV0.self, from: data).upgraded
        case 1?:
            return try decoder.decode(StationSnapshot.self, from: data)
        case let newer?:
            throw DecodingProblem.unsupportedVersion(newer)
        }
    }

    /// The version a stored snapshot says it is (0 when it says nothing).
    public static func storedVersion(of data: Data) throws -> Int {
        struct Probe: Decodable { var version: Int? }
        return try JSONDecoder().decode(Probe.self, from: data).version ?? 0
    }
}
