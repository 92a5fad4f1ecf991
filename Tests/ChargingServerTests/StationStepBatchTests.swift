import ChargingDomain
@testable import ChargingStore
import Foundation
import Logging
import PostgresClient
import Synchronization
import Testing
import TestSupport

/// Engine steps of one station queued behind each other in one instance run as one transaction
/// (`StationSteps`): each still gets its own outcome, and a failed batch runs its steps again alone.
@Suite("Station steps batched")
struct StationStepBatchTests {
    static let drivers = ["d1", "d2", "d3", "d4", "d5"]

    /// A station of five piles switched on and five drivers, a pool for the steps and a connection of
    /// its own that holds the station's lock, so the steps started meanwhile queue.
    func withStation(_ body: (StationStore, PostgresPool, PostgresConnection) async throws -> Void) async throws {
        let conninfo = try await TestDatabase.makeDatabase()
        let pool = PostgresPool(conninfo: conninfo, maxConnections: 4, logger: Logger(label: "test"))
        let blocker = try await PostgresConnection.connect(conninfo)
        do {
            let store = try await StationCatchUpTests.stationOfFivePiles(pool)
            try await pool.execute("UPDATE piles SET status = 'on', status_changed_at = now()")
            for name in Self.drivers {
                try await pool.execute("INSERT INTO drivers (username, password_hash, battery_capacity_kwh) VALUES (\(name), \(StationCatchUpTests.hash), 60)")
            }
            try await body(store, pool, blocker)
        } catch {
            await blocker.close()
            await pool.close()
            throw error
        }
        await blocker.close()
        await pool.close()
    }

    /// Holds station 1's lock until `count` steps wait: the first on the database's lock, the rest in line here.
    /// Returns once the lock is held (the steps may start), with the task that releases it.
    func holdLock(_ store: StationStore, _ pool: PostgresPool, _ blocker: PostgresConnection, until count: Int) async throws
        -> Task<Void, any Error> {
        let held = Task {
            try await blocker.withTransaction { connection in
                try await connection.execute("SELECT pg_advisory_xact_lock(\(StationStore.lockClass), 1)")
                try await eventually("one step waiting for the lock, \(count - 1) in line") {
                    try await advisoryLocks(pool, granted: false) == 1 && store.steps.waitingCount(1) == count - 1
                }
            }
        }
        try await eventually("the test holds the station's lock") { try await advisoryLocks(pool, granted: true) == 1 }
        return held
    }

    /// Advisory locks of this test's database (other tests run beside it) held, or waited for.
    func advisoryLocks(_ pool: PostgresPool, granted: Bool) async throws -> Int64 {
        try await pool.query("""
            SELECT count(*) AS n FROM pg_locks
            WHERE locktype = 'advisory' AND granted = \(granted)
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """).first!.decode("n")
    }

    final class Recorded<Value: Sendable>: Sendable {
        let values = Mutex<[String: Value]>([:])
    }

    static func outcome(_ step: () async throws -> [StationEffect]) async -> Result<[StationEffect], any Error> {
        do { return .success(try await step()) } catch { return .failure(error) }
    }

    static func submit(_ driver: String) -> StationCommand {
        .submit(driver: driver, mode: .slow, requestedKWh: 5, batteryCapacityKWh: 60)
    }

    typealias Change = @Sendable (String, inout Station, StationClock, PostgresConnection) async throws -> [StationEffect]

    /// Starts one step per key at station 1, in order, while the test holds the station's lock: the first
    /// waits for the lock, each next one only once those before it wait in line. Their outcomes by key.
    func queuedSteps(_ store: StationStore, _ pool: PostgresPool, keys: [String], change: @escaping Change) async throws
        -> [String: Result<[StationEffect], any Error>] {
        try await withThrowingTaskGroup(of: (String, Result<[StationEffect], any Error>).self) { group in
            for (n, key) in keys.enumerated() {
                try await eventually("step \(n) queued") { n == 0 || store.steps.waitingCount(1) == n - 1 }
                group.addTask {
                    let outcome = await Self.outcome {
                        try await store.update(stationID: 1, offlineGrace: .seconds(60), { station, clock, connection, _ in
                            try await change(key, &station, clock, connection)
                        }, alsoInTransaction: { _, _, _ in })
                    }
                    return (key, outcome)
                }
                if n == 0 { try await eventually("the first step waits for the lock") { try await advisoryLocks(pool, granted: false) == 1 } }
            }
            var outcomes: [String: Result<[StationEffect], any Error>] = [:]
            for try await (key, outcome) in group { outcomes[key] = outcome }
            return outcomes
        }
    }

    @Test("steps queued behind a running one commit together, each with its own outcome; a refusal stays its own")
    func queuedStepsShareOneTransaction() async throws {
        try await withStation { store, pool, blocker in
            let transactions = Recorded<Int64>()
            let held = try await holdLock(store, pool, blocker, until: 6)
            // d1 first (it takes the lock's wait), then the others, then d1 again: refused, as d1 has a request.
            let outcomes = try await queuedSteps(store, pool, keys: Self.drivers + ["d1 again"]) { key, station, clock, connection in
                let effects = try station.apply(Self.submit(String(key.prefix(2))), at: clock.now.instant)
                let id: Int64 = try await connection.query("SELECT txid_current() AS id").first!.decode("id")
                transactions.values.withLock { $0[key] = id }
                return effects
            }
            try await held.value
            for driver in Self.drivers {
                let effects = try #require(try? outcomes[driver]?.get(), "\(driver)'s step")
                #expect(effects.contains { if case .accepted = $0 { true } else { false } }, "\(driver)'s own effects")
            }
            #expect(throws: StationError.alreadyHasActiveRequest) { try outcomes["d1 again"]!.get() }
            let ids = transactions.values.withLock { $0 }
            #expect(Set(["d2", "d3", "d4", "d5"].map { ids[$0] }).count == 1, "the four queued steps in one transaction: \(ids)")
            #expect(ids["d1"] != ids["d2"], "the first ran alone")
            let station = try #require(try await store.snapshot(stationID: 1)?.station)
            for driver in Self.drivers { #expect(station.request(of: driver) != nil, "\(driver)'s request stored") }
            let rows = try await pool.query("SELECT count(*) AS n FROM charging_requests WHERE station_id = 1").first!.decode("n", as: Int64.self)
            #expect(rows == 5)
        }
    }

    @Test("a batch whose commit fails runs each of its steps again alone: only the failing one fails")
    func failedBatchRunsStepsAlone() async throws {
        try await withStation { store, pool, blocker in
            let runs = Recorded<Int>()
            let held = try await holdLock(store, pool, blocker, until: 4)
            let outcomes = try await queuedSteps(store, pool, keys: ["d1", "d2", "d3", "d4"]) { driver, station, clock, connection in
                runs.values.withLock { $0[driver, default: 0] += 1 }
                if driver == "d3" {
                    // Refused by a deferred constraint only at COMMIT, with the whole batch.
                    try await connection.execute("""
                        INSERT INTO ocpp_transactions (pile_id, connector_id, id_tag, station_id, request_id, meter_start_wh, charger_started_at)
                        VALUES (1, 1, 'NO-SUCH-REQUEST', 1, 999999, 0, now())
                        """)
                }
                return try station.apply(Self.submit(driver), at: clock.now.instant)
            }
            try await held.value
            let refused = try #require(throws: PostgresError.self) { try outcomes["d3"]!.get() }
            #expect(refused.code == .foreignKeyViolation)
            for driver in ["d1", "d2", "d4"] { #expect((try? outcomes[driver]?.get()) != nil, "\(driver)'s step") }
            #expect(runs.values.withLock { $0 } == ["d1": 1, "d2": 2, "d3": 2, "d4": 2], "the batch once, then each alone")
            let station = try #require(try await store.snapshot(stationID: 1)?.station)
            for driver in ["d1", "d2", "d4"] { #expect(station.request(of: driver) != nil) }
            #expect(station.request(of: "d3") == nil)
            let rows = try await pool.query("SELECT count(*) AS n FROM charging_requests WHERE station_id = 1").first!.decode("n", as: Int64.self)
            #expect(rows == 3)
        }
    }
}

extension StationStepBatchTests {
    @Test("a batch whose first step is refused still writes what the station did by itself: a session completed by then is billed")
    func refusedFirstStepKeepsTheCatchUp() async throws {
        try await withStation { store, pool, _ in
            let start = Date(timeIntervalSince1970: 1_700_000_000)
            _ = try await store.update(stationID: 1, offlineGrace: .seconds(60), { station, clock, _, _ in
                try station.apply(.submit(driver: "d5", mode: .slow, requestedKWh: 1, batteryCapacityKWh: 60), at: clock.now.instant)
            }, alsoInTransaction: { _, _, _ in })
            // A step runs and waits inside its change; three steps queue behind it.
            let gate = Recorded<Bool>()
            async let running = Self.outcome {
                try await store.update(stationID: 1, offlineGrace: .seconds(60), { _, _, _, _ in
                    gate.values.withLock { $0["inside"] = true }
                    try await eventually("released") { gate.values.withLock { $0["go"] == true } }
                    return []
                }, alsoInTransaction: { _, _, _ in })
            }
            try await eventually("the first step runs") { gate.values.withLock { $0["inside"] == true } }
            let keys = ["nobody", "d1", "d2"]
            let outcomes = try await withThrowingTaskGroup(of: (String, Result<[StationEffect], any Error>).self) { group in
                for (n, key) in keys.enumerated() {
                    try await eventually("step \(n) queued") { store.steps.waitingCount(1) == n }
                    group.addTask {
                        let outcome = await Self.outcome {
                            try await store.update(stationID: 1, offlineGrace: .seconds(60), { station, clock, _, _ in
                                // "nobody" has no request to cancel: refused by the engine, nothing sent to the database.
                                try station.apply(key == "nobody" ? .cancel(driver: key) : Self.submit(key), at: clock.now.instant)
                            }, alsoInTransaction: { _, _, _ in })
                        }
                        return (key, outcome)
                    }
                }
                try await eventually("three steps queued") { store.steps.waitingCount(1) == 3 }
                // d5's kilowatt-hour is done long before the next batch reads the clock.
                try await store.setClock(stationID: 1, mode: .manual, speed: 1, start: start.addingTimeInterval(7_200))
                gate.values.withLock { $0["go"] = true }
                var outcomes: [String: Result<[StationEffect], any Error>] = [:]
                for try await (key, outcome) in group { outcomes[key] = outcome }
                return outcomes
            }
            #expect((try? await running.get()) != nil)
            #expect(throws: StationError.noActiveRequest) { try outcomes["nobody"]!.get() }
            for driver in ["d1", "d2"] { #expect((try? outcomes[driver]?.get()) != nil, "\(driver)'s step") }
            let bills = try await pool.query("SELECT d.username FROM bills b JOIN drivers d ON d.id = b.driver_id")
                .map { try $0.decode("username", as: String.self) }
            #expect(bills == ["d5"], "the completion the refused step's batch caught up on is billed")
            let station = try #require(try await store.snapshot(stationID: 1)?.station)
            #expect(station.request(of: "d5") == nil)
            for driver in ["d1", "d2"] { #expect(station.request(of: driver) != nil) }
        }
    }
}
