import Foundation

/// Version 2: a station stored as rows, so that a change writes what changed instead of the whole
/// station. The parts are version 1's own types:
/// - the header (`stations.state`): a version-1 document with `version` 2, no piles, no requests and no
///   pile list in its settings: clock, counters, the waiting area and the displaced cars;
/// - one `PileState` per pile (`piles.engine_state`);
/// - one `Request` per active request (`charging_requests.engine_state`).
/// `assemble` puts them back together into exactly the station they came from.
extension StationSnapshot {
    public static let rowsVersion = 2

    /// What a change wrote: the header when it changed, and the pile and request rows that differ.
    public struct Rows: Sendable {
        public var header: Data?
        public var piles: [(id: Int, state: Data)]
        /// Active requests whose row changed (new ones included).
        public var requests: [(id: Int64, state: Data)]
        /// Requests that left the station: their rows no longer hold engine state.
        public var departed: [Int64]
    }

    /// The rows of `station` that differ from `original` (nil: every row, as for a station stored for the first time).
    public static func rows(of station: Station, since original: Station?) throws -> Rows {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var header = StationSnapshot(headerOf: station)
        header.version = rowsVersion
        var rows = Rows(header: nil, piles: [], requests: [], departed: [])
        if let original {
            var before = StationSnapshot(headerOf: original)
            before.version = rowsVersion
            if before != header { rows.header = try encoder.encode(header) }
        } else {
            rows.header = try encoder.encode(header)
        }
        for pile in changed(station.piles, since: original?.piles ?? [], id: \.id) {
            rows.piles.append((pile.id, try encoder.encode(PileState(pile))))
        }
        for request in changed(station.requests, since: original?.requests ?? [], id: \.id) {
            rows.requests.append((request.id, try encoder.encode(Request(request))))
        }
        let active = Set(station.requests.map(\.id))
        rows.departed = (original?.requests ?? []).map(\.id).filter { !active.contains($0) }
        return rows
    }

    /// The elements of `now` that are new or differ from `before`. Both are in id order (piles, active
    /// requests), so a step that changed a few of a thousand piles is found by walking both arrays
    /// together, without building a dictionary of the station at every step.
    private static func changed<Element: Equatable>(_ now: [Element], since before: [Element], id: (Element) -> some Comparable)
        -> [Element] {
        var changed: [Element] = []
        var old = before.startIndex
        for element in now {
            while old < before.endIndex, id(before[old]) < id(element) { old += 1 }
            if old < before.endIndex, id(before[old]) == id(element), before[old] == element { continue }
            changed.append(element)
        }
        return changed
    }

    /// The station stored as rows: its header, and JSON arrays of the rows of its piles and of its active
    /// requests (any order).
    public static func assemble(header: Data, piles: Data, requests: Data) throws -> Station {
        let decoder = JSONDecoder()
        var snapshot = try decoder.decode(StationSnapshot.self, from: header)
        guard snapshot.version == rowsVersion else { throw DecodingProblem.invalid("station header version \(snapshot.version)") }
        snapshot.version = currentVersion
        snapshot.piles = try decoder.decode([PileState].self, from: piles).sorted { $0.pile.id < $1.pile.id }
        snapshot.settings.piles = snapshot.piles.map(\.pile)
        snapshot.requests = try decoder.decode([Request].self, from: requests).sorted { $0.id < $1.id }
        return try snapshot.station()
    }

    /// The header fields of a station, without encoding its piles and requests.
    init(headerOf station: Station) {
        version = Self.currentVersion
        nowMs = station.now
        nextRequestID = station.nextRequestID
        nextBillID = station.nextBillID
        nextFastNumber = station.numbering.nextFast
        nextSlowNumber = station.numbering.nextSlow
        var settings = Settings(station.settings)
        settings.piles = []
        self.settings = settings
        piles = []
        requests = []
        waiting = station.waiting
        displaced = station.displaced
        reservations = station.reservations.isEmpty ? nil : station.reservations.map {
            Reservation(id: $0.id, pileID: $0.pileID, driver: $0.driver, fromMs: $0.from, untilMs: $0.until)
        }
    }
}
