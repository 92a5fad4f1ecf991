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
    static let hash = "$2b$04$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"
    static let drivers = ["d1", "d2", "d3", "d4", "d5"]

    /// A station of five piles switched on and five drivers, a pool for the steps and a connection of
    /// its own that holds the station's lock, so the steps started meanwhile queue.
    func withStation(_ body: (StationStore, PostgresPool, PostgresConnection) async throws -> Void) async throws {
        let conninfo = try await TestDatabase.makeDatabase()
        let pool = PostgresPool(conninfo: conninfo, maxConnections: 4, logger: Logger(label: "test"))
        let blocker = try await PostgresConnection.connect(conninfo)
        do {
            try await SchemaMigrator().migrate(pool)
            let store = StationStore(pool: pool)
            try await store.create(id: 1, name: "test", settings: .standard,
                                   pilePasswordHashes: Dictionary(uniqueKeysWithValues: (1...5).map { ($0, Self.hash) }),
                                   clock: .manual, start: Date(timeIntervalSince1970: 1_700_000_000))
            try await pool.execute("UPDATE piles SET status = 'on', status_changed_at = now()")
            for name in Self.drivers {
                try await pool.execute("INSERT INTO drivers (username, password_hash, battery_capacity_kwh) VALUES (\(name), \(Self.hash), 60)")
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
    func holdLock(_ store: StationStore, _ pool: PostgresPool, _ blocker: PostgresConnection, until count: Int) async throws {
        try await blocker.withTransaction { connection in
            try await connection.execute("SELECT pg_advisory_xact_lock(\(StationStore.lockClass), 1)")
            try await poll("one step waiting for the lock, \(count - 1) in line") {
                try await waitingForLock(pool) == 1 && store.steps.waitingCount(1) == count - 1
            }
        }
    }

    /// Sessions of this test's database waiting for an advisory lock (other tests run beside it).
    func waitingForLock(_ pool: PostgresPool) async throws -> Int64 {
        try await pool.query("""
            SELECT count(*) AS n FROM pg_locks
            WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """).first!.decode("n")
    }

    func poll(_ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw PollTimeout(what: what) }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    struct PollTimeout: Error { var what: String }

    final class Recorded<Value: Sendable>: Sendable {
        let values = Mutex<[String: Value]>([:])
    }

    static func outcome(_ step: () async throws -> [StationEffect]) async -> Result<[StationEffect], any Error> {
        do { return .success(try await step()) } catch { return .failure(error) }
    }

    static func submit(_ driver: String) -> StationCommand {
        .submit(driver: driver, mode: .slow, requestedKWh: 5, batteryCapacityKWh: 60)
    }

    @Test("steps queued behind a running one commit together, each with its own outcome; a refusal stays its own")
    func queuedStepsShareOneTransaction() async throws {
        try await withStation { store, pool, blocker in
            let transactions = Recorded<Int64>()
            async let held: Void = holdLock(store, pool, blocker, until: 6)
            let outcomes = try await withThrowingTaskGroup(of: (String, Result<[StationEffect], any Error>).self) { group in
                // d1 first (it takes the lock's wait), then the others, then d1 again: refused, as d1 has a request.
                for (n, driver) in (Self.drivers + ["d1"]).enumerated() {
                    try await poll("step \(n) queued") { n == 0 || store.steps.waitingCount(1) == n - 1 }
                    let key = n == 5 ? "d1 again" : driver
                    group.addTask {
                        let outcome = await Self.outcome {
                            try await store.update(stationID: 1, offlineGrace: .seconds(60), { station, clock, connection, _ in
                                let effects = try station.apply(Self.submit(driver), at: clock.now.instant)
                                let id: Int64 = try await connection.query("SELECT txid_current() AS id").first!.decode("id")
                                transactions.values.withLock { $0[key] = id }
                                return effects
                            }, alsoInTransaction: { _, _, _ in })
                        }
                        return (key, outcome)
                    }
                    if n == 0 { try await poll("the first step waits for the lock") { try await waitingForLock(pool) == 1 } }
                }
                var outcomes: [String: Result<[StationEffect], any Error>] = [:]
                for try await (key, outcome) in group { outcomes[key] = outcome }
                return outcomes
            }
            try await held
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
            async let held: Void = holdLock(store, pool, blocker, until: 4)
            let outcomes = try await withThrowingTaskGroup(of: (String, Result<[StationEffect], any Error>).self) { group in
                for (n, driver) in ["d1", "d2", "d3", "d4"].enumerated() {
                    try await poll("step \(n) queued") { n == 0 || store.steps.waitingCount(1) == n - 1 }
                    group.addTask {
                        let outcome = await Self.outcome {
                            try await store.update(stationID: 1, offlineGrace: .seconds(60), { station, clock, connection, _ in
                                runs.values.withLock { $0[driver, default: 0] += 1 }
                                if driver == "d3" {
                                    // Refused by a deferred constraint only at COMMIT, with the whole batch.
                                    try await connection.execute("""
                                        INSERT INTO ocpp_transactions (pile_id, connector_id, id_tag, station_id, request_id, meter_start_wh, charger_started_at)
                                        VALUES (1, 1, 'NO-SUCH-REQUEST', 1, 999999, 0, now())
                                        """)
                                }
                                return try station.apply(Self.submit(driver), at: clock.now.instant)
                            }, alsoInTransaction: { _, _, _ in })
                        }
                        return (driver, outcome)
                    }
                    if n == 0 { try await poll("the first step waits for the lock") { try await waitingForLock(pool) == 1 } }
                }
                var outcomes: [String: Result<[StationEffect], any Error>] = [:]
                for try await (key, outcome) in group { outcomes[key] = outcome }
                return outcomes
            }
            try await held
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
