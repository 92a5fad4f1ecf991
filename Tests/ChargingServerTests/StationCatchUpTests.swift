import ChargingDomain
@testable import ChargingStore
import Foundation
import Logging
import PostgresClient
import Testing
import TestSupport

/// How the ticker finds the stations whose engine is behind (migration 0008's mirror columns) and what
/// a catch-up reads: the store alone, on its own database, with the clock in the test's hands.
@Suite("Station catch-up")
struct StationCatchUpTests {
    static let hash = "$2b$04$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"

    /// Migrates the database and creates station 1 with piles 1…5 (offline), on a manual clock.
    static func stationOfFivePiles(_ pool: PostgresPool) async throws -> StationStore {
        try await SchemaMigrator().migrate(pool)
        let store = StationStore(pool: pool)
        try await store.create(id: 1, name: "test", settings: .standard,
                               pilePasswordHashes: Dictionary(uniqueKeysWithValues: (1...5).map { ($0, hash) }),
                               clock: .manual, start: Date(timeIntervalSince1970: 1_700_000_000))
        return store
    }

    func withStore(_ body: (StationStore, PostgresPool) async throws -> Void) async throws {
        let pool = PostgresPool(conninfo: try await TestDatabase.makeDatabase(), maxConnections: 2, logger: Logger(label: "test"))
        do {
            try await body(try await Self.stationOfFivePiles(pool), pool)
        } catch {
            await pool.close()
            throw error
        }
        await pool.close()
    }

    func engineStatus(_ store: StationStore, pile: Int) async throws -> PileStatus? {
        try await store.snapshot(stationID: 1)?.station.pileStatus(pile)
    }

    func mirror(_ pool: PostgresPool, pile: Int) async throws -> String? {
        try await pool.query("SELECT engine_status FROM piles WHERE id = \(pile)").first?.decode("engine_status")
    }

    @Test("at a station with cars, a reported status the engine hasn't taken in puts it on the ticker's list; without cars it waits for the next car")
    func reportedStatusMakesStationBehind() async throws {
        try await withStore { store, pool in
            try await pool.execute("UPDATE piles SET status = 'on', status_changed_at = now() WHERE id = 3")
            #expect(try await store.stationsBehind(offlineGrace: .zero) == [], "no car: no status can move anything")
            #expect(try await store.stationOfPile(3).map { [$0.stationID] } == [1])
            #expect(try await store.stationOfPile(3)?.hasCars == false)
            #expect(try await engineStatus(store, pile: 3) == .off, "a new pile is off in the engine")

            // The next car's change takes the pending statuses in first, so it goes to pile 3.
            try await pool.execute("INSERT INTO drivers (username, password_hash, battery_capacity_kwh) VALUES ('driver', \(Self.hash), 60)")
            _ = try await store.update(stationID: 1, offlineGrace: .seconds(60), { station, clock, _, _ in
                try station.apply(.submit(driver: "driver", mode: .slow, requestedKWh: 5, batteryCapacityKWh: 60), at: clock.now.instant)
            }, alsoInTransaction: { _, _, _ in })
            #expect(try await engineStatus(store, pile: 3) == .on)
            #expect(try await mirror(pool, pile: 3) == "on")
            #expect(try await store.snapshot(stationID: 1)?.station.pileQueue(3)?.first?.driver == "driver")
            #expect(try await store.stationOfPile(4)?.hasCars == true)
            #expect(try await store.stationsBehind(offlineGrace: .seconds(60)) == [])

            try await pool.execute("UPDATE piles SET status = 'on', status_changed_at = now() WHERE id = 4")
            #expect(try await store.stationsBehind(offlineGrace: .seconds(60)) == [1])
            #expect(try await engineStatus(store, pile: 4) == .off)
            _ = try await store.update(stationID: 1, offlineGrace: .seconds(60), alsoInTransaction: { _, _, _ in })
            #expect(try await engineStatus(store, pile: 4) == .on)
            #expect(try await mirror(pool, pile: 4) == "on")
            #expect(try await store.stationsBehind(offlineGrace: .seconds(60)) == [])

            // Going offline: behind only once the grace is over.
            try await pool.execute("UPDATE piles SET status = 'offline', status_changed_at = now() WHERE id = 4")
            #expect(try await store.stationsBehind(offlineGrace: .seconds(60)) == [])
            #expect(try await store.stationsBehind(offlineGrace: .zero) == [1])
        }
    }

    @Test("a car charging makes the station busy and its completion due time the ticker's: behind once the clock passes it")
    func completionDueMakesStationBehind() async throws {
        try await withStore { store, pool in
            try await pool.execute("INSERT INTO drivers (username, password_hash, battery_capacity_kwh) VALUES ('driver', \(Self.hash), 60)")
            try await pool.execute("UPDATE piles SET status = 'on', status_changed_at = now() WHERE id = 1")
            _ = try await store.update(stationID: 1, offlineGrace: .seconds(60), { station, clock, _, _ in
                try station.apply(.submit(driver: "driver", mode: .fast, requestedKWh: 30, batteryCapacityKWh: 60), at: clock.now.instant)
            }, alsoInTransaction: { _, _, _ in })
            #expect(try await store.stationOfPile(2)?.hasCars == true)
            let due: Date? = try await pool.query("SELECT next_event_at FROM stations WHERE id = 1").first?.decode("next_event_at")
            // 30 kWh at 30 kW: an hour after the manual clock's start.
            #expect(due == Date(timeIntervalSince1970: 1_700_000_000 + 3600))
            #expect(try await store.stationsBehind(offlineGrace: .seconds(60)) == [])

            try await store.setClock(stationID: 1, mode: .manual, speed: 1, start: Date(timeIntervalSince1970: 1_700_000_000 + 3600))
            #expect(try await store.stationsBehind(offlineGrace: .seconds(60)) == [1])
            let effects = try await store.update(stationID: 1, offlineGrace: .seconds(60), alsoInTransaction: { _, _, _ in })
            #expect(effects.contains { if case .billed = $0 { true } else { false } })
            #expect(try await store.stationsBehind(offlineGrace: .seconds(60)) == [])
            #expect(try await store.stationOfPile(1)?.hasCars == false)
            let next: Date? = try await pool.query("SELECT next_event_at FROM stations WHERE id = 1").first?.decode("next_event_at")
            #expect(next == nil)
        }
    }
    @Test("the station kept in memory is never used when it is not the database's: a rolled-back change, another process's change, a row rewritten by hand")
    func cachedStationFollowsTheDatabase() async throws {
        try await withStore { store, pool in
            try await pool.execute("UPDATE piles SET status = 'on', status_changed_at = now() WHERE id IN (1, 2, 3, 4, 5)")
            for name in ["anna", "ben"] {
                try await pool.execute("INSERT INTO drivers (username, password_hash, battery_capacity_kwh) VALUES (\(name), \(Self.hash), 60)")
            }
            struct Refused: Error {}
            // Refused before it was written: the next read is the database's.
            await #expect(throws: Refused.self) {
                _ = try await store.update(stationID: 1, offlineGrace: .seconds(60), { station, clock, _, _ in
                    try station.apply(.submit(driver: "anna", mode: .slow, requestedKWh: 5, batteryCapacityKWh: 60), at: clock.now.instant)
                }, alsoInTransaction: { _, _, _ in throw Refused() })
            }
            #expect(try await store.snapshot(stationID: 1)?.station.request(of: "anna") == nil)
            #expect(try await store.snapshot(stationID: 1)?.station.pileStatus(3) == .off, "nothing of the rolled-back change")
            // Kept in memory, then written with a COMMIT the database refuses (a deferred constraint): the same.
            let refused = try await #require(throws: PostgresError.self) {
                _ = try await store.update(stationID: 1, offlineGrace: .seconds(60), { station, clock, connection, _ in
                    try await connection.execute("""
                        INSERT INTO ocpp_transactions (pile_id, connector_id, id_tag, station_id, request_id, meter_start_wh, charger_started_at)
                        VALUES (1, 1, 'NO-SUCH-REQUEST', 1, 999999, 0, now())
                        """)
                    return try station.apply(.submit(driver: "anna", mode: .slow, requestedKWh: 5, batteryCapacityKWh: 60), at: clock.now.instant)
                }, alsoInTransaction: { _, _, _ in })
            }
            #expect(refused.code == .foreignKeyViolation)
            #expect(try await store.snapshot(stationID: 1)?.station.request(of: "anna") == nil)

            // Another process (its own store, its own memory) changes the station: this one reads it.
            let other = StationStore(pool: pool)
            _ = try await other.update(stationID: 1, offlineGrace: .seconds(60), { station, clock, _, _ in
                try station.apply(.submit(driver: "ben", mode: .slow, requestedKWh: 5, batteryCapacityKWh: 60), at: clock.now.instant)
            }, alsoInTransaction: { _, _, _ in })
            #expect(try await store.snapshot(stationID: 1)?.station.request(of: "ben") != nil)
            _ = try await store.update(stationID: 1, offlineGrace: .seconds(60), { station, clock, _, _ in
                try station.apply(.submit(driver: "anna", mode: .slow, requestedKWh: 5, batteryCapacityKWh: 60), at: clock.now.instant)
            }, alsoInTransaction: { _, _, _ in })
            #expect(try await other.snapshot(stationID: 1)?.station.request(of: "anna") != nil)

            // A DBA restores the header by hand: the trigger moves the version, so the copies in memory are dropped.
            let header: String = try await pool.query("SELECT state::text AS s FROM stations WHERE id = 1").first!.decode("s")
            try await pool.execute("UPDATE stations SET state = jsonb_set(\(header)::jsonb, '{now_ms}', '0') WHERE id = 1")
            let restored = try #require(try await store.snapshot(stationID: 1, advance: false)?.station)
            #expect(restored.now == 0)
        }
    }
    @Test("a stored meter reading waits until its session is decided: a catch-up when the model's completion falls due takes it in (the car is behind: no completion), other steps leave it")
    func readingsTakenInWhenDecided() async throws {
        try await withStore { store, pool in
            let start = Date(timeIntervalSince1970: 1_700_000_000)
            try await pool.execute("UPDATE piles SET status = 'on', status_changed_at = now() WHERE id IN (3, 4, 5)")
            for name in ["slow1", "slow2"] {
                try await pool.execute("INSERT INTO drivers (username, password_hash, battery_capacity_kwh) VALUES (\(name), \(Self.hash), 60)")
            }
            func step(at minutes: Double, readings: StationStore.Readings, _ command: StationCommand? = nil) async throws {
                _ = try await store.update(stationID: 1, offlineGrace: .seconds(60), setClockTo: start.addingTimeInterval(minutes * 60),
                                           readings: readings, { station, clock, _, _ in
                    guard let command else { return [] }
                    return try station.apply(command, at: clock.now.instant)
                }, alsoInTransaction: { _, _, _ in })
            }
            // 5 kWh on a 10 kW pile: the model completes it at 30 min.
            try await step(at: 0, readings: .all, .submit(driver: "slow1", mode: .slow, requestedKWh: 5, batteryCapacityKWh: 60))
            let charging = try #require(try await store.snapshot(stationID: 1)?.station.request(of: "slow1"))
            let requestID: Int64 = try await pool.query("SELECT id FROM charging_requests WHERE pile_id IS NOT NULL").first!.decode("id")
            #expect(charging.pileID != nil)
            let pileID = try #require(charging.pileID)

            // At 10 min the meter says 1.003 kWh (the model: 1.67): stored, not taken in by another car's arrival.
            try await step(at: 10, readings: .forDecisions())
            #expect(try await store.recordMeterReading(stationID: 1, requestID: requestID, pileID: pileID,
                                                       energyKWh: Decimal(string: "1.003")!) == .stored)
            try await step(at: 12, readings: .forDecisions(), .submit(driver: "slow2", mode: .slow, requestedKWh: 5, batteryCapacityKWh: 60))
            #expect(try await pool.query("SELECT meter_pending FROM charging_requests WHERE id = \(requestID)").first!.decode("meter_pending", as: Bool.self))

            // 31 min: the model's completion is due; the reading comes in first (at 10 min), so 3.997 kWh are left
            // from 10 min at 10 kW: the car completes just before 34 min, not now.
            try await step(at: 31, readings: .forDecisions())
            let view = try #require(try await store.snapshot(stationID: 1)?.station.request(of: "slow1"))
            #expect(view.state == .charging, "\(view)")
            #expect(try await pool.query("SELECT meter_pending FROM charging_requests WHERE id = \(requestID)").first!.decode("meter_pending", as: Bool.self) == false)
            try await step(at: 34.1, readings: .forDecisions())
            #expect(try await store.snapshot(stationID: 1)?.station.request(of: "slow1") == nil, "completed at 34 min")
            let billed: Decimal = try await pool.query("SELECT energy_kwh FROM bills WHERE request_id = \(requestID)").first!.decode("energy_kwh")
            #expect(billed == 5)
        }
    }

    @Test("a batch of readings is judged in one statement: unknown, backwards and implausible ones are refused, the last of one session is stored")
    func readingsJudgedAsABatch() async throws {
        try await withStore { store, pool in
            let start = Date(timeIntervalSince1970: 1_700_000_000)
            try await pool.execute("UPDATE piles SET status = 'on', status_changed_at = now() WHERE id IN (3, 4, 5)")
            try await pool.execute("INSERT INTO drivers (username, password_hash, battery_capacity_kwh) VALUES ('ann', \(Self.hash), 60)")
            _ = try await store.update(stationID: 1, offlineGrace: .seconds(60), setClockTo: start, { station, clock, _, _ in
                try station.apply(.submit(driver: "ann", mode: .slow, requestedKWh: 5, batteryCapacityKWh: 60), at: clock.now.instant)
            }, alsoInTransaction: { _, _, _ in })
            let request = try #require(try await pool.query("SELECT id, pile_id FROM charging_requests WHERE pile_id IS NOT NULL").first)
            let (requestID, pileID): (Int64, Int) = (try request.decode("id"), try request.decode("pile_id"))
            // Ten minutes on a 10 kW pile: at most 1.667 kWh (plus the slack).
            try await pool.execute("UPDATE stations SET clock_station_origin = \(start.addingTimeInterval(600)) WHERE id = 1")
            func reading(_ n: Int, request: Int64 = requestID, pile: Int = pileID, _ kWh: String) -> String {
                #"{"n": \#(n), "station_id": 1, "request_id": \#(request), "pile_id": \#(pile), "energy_kwh": \#(kWh)}"#
            }
            let batch = "[" + [reading(1, "0.5"), reading(2, "1.2"), reading(3, request: 999, "0.1"), reading(4, pile: pileID == 3 ? 4 : 3, "0.1"),
                               reading(5, "-0.1"), reading(6, "9.9")].joined(separator: ",") + "]"
            let verdicts = try await pool.query(StationStore.storeMeterReadingsQuery(.sessions, batch: batch))
                .reduce(into: [Int: String]()) { $0[try $1.decode("n")] = try $1.decode("verdict") }
            #expect(verdicts == [1: "stored", 2: "stored", 3: "unknown_request", 4: "unknown_request", 5: "backwards", 6: "implausible"])
            let stored = try #require(try await pool.query("SELECT meter_kwh, meter_pending FROM charging_requests WHERE id = \(requestID)").first)
            #expect(try stored.decode("meter_kwh", as: Decimal.self) == Decimal(string: "1.2")!)
            #expect(try stored.decode("meter_pending", as: Bool.self))
            // Below what is stored now: backwards; reaching the 5 kWh target (after 30 min): completes.
            try await pool.execute("UPDATE stations SET clock_station_origin = \(start.addingTimeInterval(1800)) WHERE id = 1")
            let next = try await pool.query(StationStore.storeMeterReadingsQuery(.sessions, batch: "[" + reading(1, "1.1") + "]"))
            #expect(try next.first?.decode("verdict", as: String.self) == "backwards")
            #expect(try await store.recordMeterReading(stationID: 1, requestID: requestID, pileID: pileID, energyKWh: 5) == .completes)
        }
    }

    @Test("the cache keeps a station's two newest versions: a step's uncommitted one and the committed one readers still see")
    func cacheKeepsTwoVersions() {
        let cache = StationCache()
        let station = Station(settings: .standard, now: 0)
        cache.keep(station, version: 10, stationID: 1)
        cache.keep(station, version: 12, stationID: 1)
        #expect(cache.stations(1).map(\.version) == [12, 10])
        cache.keep(station, version: 11, stationID: 1)
        cache.keep(station, version: 9, stationID: 1)
        cache.keep(station, version: 12, stationID: 1)
        #expect(cache.stations(1).map(\.version) == [12, 11])
        #expect(cache.stations(2).isEmpty)
    }

    @Test("one step closes a request that completed by now and writes the same driver's next one: the bill, the pile's totals, both rows")
    func departureAndNewRequestInOneStep() async throws {
        try await withStore { store, pool in
            try await pool.execute("UPDATE piles SET status = 'on', status_changed_at = now()")
            try await pool.execute("INSERT INTO drivers (username, password_hash, battery_capacity_kwh) VALUES ('driver', \(Self.hash), 60)")
            let submit = { (kWh: Decimal) in
                _ = try await store.update(stationID: 1, offlineGrace: .seconds(60), { station, clock, _, _ in
                    try station.apply(.submit(driver: "driver", mode: .fast, requestedKWh: kWh, batteryCapacityKWh: 60), at: clock.now.instant)
                }, alsoInTransaction: { _, _, _ in })
            }
            try await submit(5)
            // Station time passes the first request's completion with no step in between (no ticker here).
            try await pool.execute("UPDATE stations SET clock_station_origin = clock_station_origin + interval '5 hours' WHERE id = 1")
            try await submit(7)
            let rows = try await pool.query("SELECT id, state FROM charging_requests ORDER BY id").map {
                "\(try $0.decode("id", as: Int64.self)):\(try $0.decode("state", as: String.self))"
            }
            #expect(rows == ["1:finished", "2:charging"])
            let bill = try await pool.query("SELECT request_id, energy_kwh FROM bills").map {
                "\(try $0.decode("request_id", as: Int64.self)):\(try $0.decode("energy_kwh", as: Decimal.self))"
            }
            #expect(bill == ["1:5"])
            let totals = try await pool.query("SELECT sum(total_charging_times)::int AS times, sum(total_charging_kwh) AS kwh FROM piles").first!
            #expect(try totals.decode("times", as: Int.self) == 1)
            #expect(try totals.decode("kwh", as: Decimal.self) == 5)
        }
    }

    @Test("batch_rows is the built-in jsonb_array_elements (ROWS 4) when a superuser migrates; under an ordinary role the migrations still apply and it stays SQL")
    func batchRowsUnderEitherRole() async throws {
        let language = { (pool: PostgresPool) async throws -> String in
            try await pool.query("SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang WHERE p.proname = 'batch_rows'")
                .first!.decode("lanname")
        }
        try await withStore { _, pool in
            #expect(try await language(pool) == "internal")
            let rows: Int = try await pool.query("SELECT count(*)::int AS n FROM batch_rows('[{\"a\":1},{\"a\":2}]')").first!.decode("n")
            #expect(rows == 2)
        }
        let url = try await TestDatabase.makeDatabase()
        let role = "app_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        let admin = PostgresPool(conninfo: url, maxConnections: 1, logger: Logger(label: "test"))
        try await admin.execute("CREATE ROLE \(identifier: role) LOGIN NOSUPERUSER")
        let database: String = try await admin.query("SELECT current_database() AS name").first!.decode("name")
        try await admin.execute("ALTER DATABASE \(identifier: database) OWNER TO \(identifier: role)")
        await admin.close()
        let pool = PostgresPool(conninfo: try PostgresConnectionString.keywordValue(url, overrides: ["user": role]), maxConnections: 1,
                                logger: Logger(label: "test"))
        do {
            try await SchemaMigrator().migrate(pool)
            #expect(try await language(pool) == "sql")
            #expect(try await pool.query("SELECT current_setting('is_superuser') AS su").first!.decode("su", as: String.self) == "off")
        } catch {
            await pool.close()
            throw error
        }
        await pool.close()
    }
}
