import ChargingDomain
import Foundation
import PileSimulator
import Testing

/// Issue 10, item 11: the stored station is a versioned format with checked-in fixtures.
///
/// `Fixtures/station-v1.json` is version 1 of the official case at 09:00 (after its first two faults,
/// with a meter checkpoint); `Fixtures/station-v0.json` is the same station as chargepile stored it before
/// versions existed (the synthesized encoding). Every future version must decode both to this station.
/// `CHARGEPILE_WRITE_FIXTURES=1 swift test --filter StationSnapshotTests` rewrites the v1 fixture only
/// when the format is deliberately changed (never the v0 one, which is history).
@Suite("Station snapshot: versioned wire format")
struct StationSnapshotTests {
    static let clock = StationClock(
        timeZone: OfficialCase.timeZoneIdentifier,
        year: OfficialCase.date.year, month: OfficialCase.date.month, day: OfficialCase.date.day)

    /// The official case replayed up to and including its 09:00 event, then a meter reading on pile 2.
    static func midCase() -> Station {
        var station = Station(settings: .standard, now: clock.at("05:50"))
        for pileID in OfficialCase.fastPiles + OfficialCase.slowPiles {
            station.must(.setPileStatus(pileID: pileID, status: .on), at: clock.at("05:55"))
        }
        for event in OfficialCase.events where event.time <= "09:00" {
            let command: StationCommand = switch event.action {
            case let .submit(driver, mode, amount):
                .submit(driver: driver, mode: ChargingMode(rawValue: mode)!, requestedKWh: amount, batteryCapacityKWh: 200)
            case let .leave(driver): .cancel(driver: driver)
            case let .pileFails(pileID): .setPileStatus(pileID: pileID, status: .repair)
            case let .pileRecovers(pileID): .setPileStatus(pileID: pileID, status: .on)
            case let .changeAmount(driver, amount): .modify(driver: driver, mode: nil, requestedKWh: amount)
            }
            _ = try? station.apply(command, at: clock.at(event.time))
        }
        let charging = station.pileQueue(2)!.first!
        // The meter read a quarter kWh less than modelled (pile 2 was never interrupted, so this is the session's).
        station.must(.meter(pileID: 2, requestID: charging.requestID, energyKWh: charging.chargedKWh! - kWh("0.25")),
                     at: clock.at("09:01"))
        return station
    }

    static func fixture(_ name: String) throws -> Data {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"))
        return try Data(contentsOf: url)
    }

    static var sourceFixtures: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    }

    @Test("the checked-in v1 fixture decodes to the mid-case station, and today's writer writes exactly it")
    func v1Fixture() throws {
        let station = Self.midCase()
        let written = try StationSnapshot.encode(station)
        if ProcessInfo.processInfo.environment["CHARGEPILE_WRITE_FIXTURES"] == "1" {
            try written.write(to: Self.sourceFixtures.appendingPathComponent("station-v1.json"))
            // Version 0 is history: written once, from the synthesized encoding chargepile stored before versions.
            let v0 = Self.sourceFixtures.appendingPathComponent("station-v0.json")
            if !FileManager.default.fileExists(atPath: v0.path) {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                try encoder.encode(station).write(to: v0)
            }
        }
        let fixture = try Self.fixture("station-v1")
        #expect(try StationSnapshot.storedVersion(of: fixture) == 1)
        let decoded = try StationSnapshot.decodeStation(from: fixture)
        #expect(decoded == station)
        #expect(written == fixture, "the v1 writer changed: a new format is a new version, v1 must stay readable")
        // It behaves the same afterwards: the rest of the day gives the same bills.
        var a = decoded, b = station
        let end = Self.clock.at("12:00", dayOffset: 1)
        #expect(a.advance(to: end) == b.advance(to: end))
    }

    @Test("a row written before versions existed (the synthesized encoding, version 0) loads as the same station")
    func v0Fixture() throws {
        let fixture = try Self.fixture("station-v0")
        #expect(try StationSnapshot.storedVersion(of: fixture) == 0)
        #expect(try StationSnapshot.decodeStation(from: fixture) == Self.midCase())
        // Upgraded, it is the v1 fixture's snapshot.
        #expect(try StationSnapshot.decodeSnapshot(from: fixture) == StationSnapshot.decodeSnapshot(from: Self.fixture("station-v1")))
    }

    @Test("today's in-memory encoding is still version 0, and any station round-trips through v1")
    func roundTrips() throws {
        for station in [Self.midCase(), StationStateTests().busyStation(), Station(settings: .standard, now: 0)] {
            let legacy = try JSONEncoder().encode(station)  // what chargepile stored before versions
            #expect(try StationSnapshot.decodeStation(from: legacy) == station)
            let current = try StationSnapshot.encode(station)
            #expect(try StationSnapshot.decodeStation(from: current) == station)
            #expect(try StationSnapshot.storedVersion(of: current) == StationSnapshot.currentVersion)
        }
    }

    @Test("a newer version than this chargepile knows is refused, not misread")
    func newerVersionRefused() throws {
        var object = try #require(try JSONSerialization.jsonObject(with: Self.fixture("station-v1")) as? [String: Any])
        object["version"] = 2
        let data = try JSONSerialization.data(withJSONObject: object)
        #expect(throws: StationSnapshot.DecodingProblem.unsupportedVersion(2)) { try StationSnapshot.decodeStation(from: data) }
        object["version"] = 1
        object["piles"] = [["pile": ["id": 1, "mode": "X", "power_w": 1], "status": "on", "queue": [], "session": NSNull(),
                            "total_sessions": 0, "total_energy_wms": 0, "total_duration_ms": 0]]
        #expect(throws: StationSnapshot.DecodingProblem.self) {
            try StationSnapshot.decodeStation(from: JSONSerialization.data(withJSONObject: object))
        }
    }
}
