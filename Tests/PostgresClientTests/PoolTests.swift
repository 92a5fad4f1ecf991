import Foundation
@testable import PostgresClient
import Testing
import TestSupport

@Suite struct PoolTests {
    @Test func connectionsAreCreatedLazilyAndReused() async throws {
        let pool = PostgresPool(conninfo: try await TestDatabase.makeDatabase(), maxConnections: 3)
        #expect(pool.statistics.open == 0)
        for _ in 0..<20 {
            _ = try await pool.query("SELECT 1")
        }
        let statistics = pool.statistics
        #expect(statistics.open == 1)
        #expect(statistics.idle == 1)
        #expect(statistics.inUse == 0)
        #expect(statistics.acquireCount == 20)
        await pool.close()
    }

    @Test func exhaustionTimesOut() async throws {
        let pool = PostgresPool(
            conninfo: try await TestDatabase.makeDatabase(), maxConnections: 2, acquireTimeout: .milliseconds(300))
        let release = AsyncStream.makeStream(of: Void.self)
        let holding = AsyncStream.makeStream(of: Void.self)
        let holders = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        try await pool.withConnection { _ in
                            holding.continuation.yield()
                            for await _ in release.stream { break }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        var held = 0
        for await _ in holding.stream {
            held += 1
            if held == 2 { break }
        }
        #expect(pool.statistics.inUse == 2)
        let start = ContinuousClock.now
        let error = try await #require(throws: PostgresError.self) { try await pool.query("SELECT 1") }
        let waited = ContinuousClock.now - start
        #expect(error.kind == .poolTimeout)
        #expect(waited >= .milliseconds(250) && waited < .seconds(5))
        #expect(pool.statistics.timeoutCount == 1)
        release.continuation.finish()
        try await holders.value
        #expect(try await pool.query("SELECT 1 AS one")[0].decode("one", as: Int.self) == 1)
        #expect(pool.statistics.open == 2)
        await pool.close()
    }

    @Test func waitersGetConnectionsInTurn() async throws {
        // A deadline far beyond the 0.2 s this takes: on a machine busy with the whole suite, 40 waiters
        // on two connections once took longer than 10 s.
        let pool = PostgresPool(conninfo: try await TestDatabase.makeDatabase(), maxConnections: 2, acquireTimeout: .seconds(60))
        try await withThrowingTaskGroup(of: Int.self) { group in
            for value in 0..<40 {
                group.addTask {
                    try await pool.withConnection { connection in
                        try await connection.query("SELECT \(value) AS v, pg_sleep(0.01)")[0].decode("v", as: Int.self)
                    }
                }
            }
            var values: [Int] = []
            for try await value in group { values.append(value) }
            #expect(values.sorted() == Array(0..<40))
        }
        let statistics = pool.statistics
        #expect(statistics.open <= 2)
        #expect(statistics.waiting == 0)
        #expect(statistics.inUse == 0)
        #expect(statistics.totalAcquireWait > .zero)
        await pool.close()
    }

    /// Low-priority work (a reconnect storm's claims) holds at most `lowPriorityLimit` connections, so
    /// normal work is answered at once while it waits.
    @Test func lowPriorityLeavesConnectionsForNormalWork() async throws {
        let pool = PostgresPool(conninfo: try await TestDatabase.makeDatabase(), maxConnections: 4, acquireTimeout: .seconds(30))
        #expect(pool.lowPriorityLimit == 3)
        let release = AsyncStream.makeStream(of: Void.self)
        let lows = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        try await PostgresPool.$priority.withValue(.low) {
                            try await pool.withConnection { _ in for await _ in release.stream { break } }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        try await waitUntil { pool.statistics.inUse == 3 && pool.statistics.waiting == 3 }
        #expect(try await pool.query("SELECT 1 AS one")[0].decode("one", as: Int.self) == 1)
        #expect(pool.statistics.inUse == 3)
        release.continuation.finish()
        try await lows.value
        #expect(pool.statistics.inUse == 0 && pool.statistics.waiting == 0)
        await pool.close()
    }

    /// A connection coming free goes to normal work waiting, even when low work waited longer.
    @Test func normalWaitersGoBeforeLowOnes() async throws {
        let pool = PostgresPool(conninfo: try await TestDatabase.makeDatabase(), maxConnections: 2, acquireTimeout: .seconds(30))
        let first = AsyncStream.makeStream(of: Void.self), second = AsyncStream.makeStream(of: Void.self)
        let holders = [first.stream, second.stream].map { release in
            Task { try await pool.withConnection { _ in for await _ in release { break } } }
        }
        try await waitUntil { pool.statistics.inUse == 2 }
        let low = Task { try await PostgresPool.$priority.withValue(.low) { try await pool.query("SELECT 'low' AS who") } }
        try await waitUntil { pool.statistics.waiting == 1 }
        let normalHolds = AsyncStream.makeStream(of: Void.self), normalRelease = AsyncStream.makeStream(of: Void.self)
        let normal = Task {
            try await pool.withConnection { _ in
                normalHolds.continuation.yield()
                for await _ in normalRelease.stream { break }
            }
        }
        try await waitUntil { pool.statistics.waiting == 2 }
        first.continuation.finish()
        for await _ in normalHolds.stream { break }
        #expect(pool.statistics.waiting == 1)  // the low one, which waited longer
        normalRelease.continuation.finish()
        second.continuation.finish()
        _ = try await low.value
        try await normal.value
        for holder in holders { try await holder.value }
        await pool.close()
    }

    private func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw PostgresError(kind: .poolTimeout, message: "condition not reached") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    @Test func transactionRollsBackOnThrow() async throws {
        let pool = PostgresPool(conninfo: try await TestDatabase.makeDatabase(), maxConnections: 1)
        try await pool.execute("CREATE TABLE t (n int)")
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await pool.withTransaction { connection in
                try await connection.execute("INSERT INTO t VALUES (\(1))")
                throw Boom()
            }
        }
        let inserted = try await pool.withTransaction { connection in
            try await connection.execute("INSERT INTO t VALUES (\(2))")
        }
        #expect(inserted == 1)
        let values = try await pool.query("SELECT n FROM t").map { try $0.decode("n", as: Int.self) }
        #expect(values == [2])
        #expect(pool.statistics.open == 1)
        await pool.close()
    }

    @Test func leftOpenTransactionIsRolledBackOnRelease() async throws {
        let pool = PostgresPool(conninfo: try await TestDatabase.makeDatabase(), maxConnections: 1)
        try await pool.execute("CREATE TABLE t (n int)")
        try await pool.withConnection { connection in
            try await connection.unsafeSimpleQuery("BEGIN")
            try await connection.execute("INSERT INTO t VALUES (\(1))")
        }
        let count = try await pool.query("SELECT count(*) AS n FROM t")[0].decode("n", as: Int.self)
        #expect(count == 0)
        await pool.close()
    }

    @Test func terminatedIdleConnectionIsReplaced() async throws {
        let pool = PostgresPool(conninfo: try await TestDatabase.makeDatabase(), maxConnections: 1)
        let first = try await pool.query("SELECT pg_backend_pid() AS pid")[0].decode("pid", as: Int32.self)
        try await terminateBackend(first)
        let second = try await pool.query("SELECT pg_backend_pid() AS pid")[0].decode("pid", as: Int32.self)
        #expect(second != first)
        #expect(pool.statistics.open == 1)
        await pool.close()
    }

    @Test func connectionBrokenInUseIsDiscardedAfterTheError() async throws {
        let pool = PostgresPool(conninfo: try await TestDatabase.makeDatabase(), maxConnections: 1)
        struct Boom: Error {}
        let error = try await #require(throws: PostgresError.self) {
            try await pool.withTransaction { connection in
                try await terminateBackend(connection.backendPID)
                try await connection.execute("SELECT 1")
            }
        }
        #expect(error.kind == .connection)
        #expect(pool.statistics.open == 0)
        #expect(try await pool.query("SELECT 1 AS one")[0].decode("one", as: Int.self) == 1)
        await pool.close()
    }

    @Test func closedPoolRefusesWork() async throws {
        let pool = PostgresPool(conninfo: try await TestDatabase.makeDatabase(), maxConnections: 1)
        _ = try await pool.query("SELECT 1")
        await pool.close()
        let error = try await #require(throws: PostgresError.self) { try await pool.query("SELECT 1") }
        #expect(error.kind == .closed)
        #expect(pool.statistics.open == 0)
    }
}

@Suite struct PoolExecutorTests {
    @Test func bodyRunsOnTheConnectionThread() async throws {
        let pool = PostgresPool(conninfo: try await TestDatabase.makeDatabase(), maxConnections: 2)
        try await pool.withConnection { connection in
            #expect(connection.executor.isCurrent)
            _ = try await connection.query("SELECT 1")
            #expect(connection.executor.isCurrent)
            // Child tasks inherit the preference and share the connection's thread.
            try await withThrowingTaskGroup(of: Int.self) { group in
                for value in 0..<10 {
                    group.addTask {
                        try await connection.query("SELECT \(value) AS v")[0].decode("v", as: Int.self)
                    }
                }
                let sum = try await group.reduce(0, +)
                #expect(sum == 45)
            }
        }
        await pool.close()
    }

    @Test func manyTasksShareASmallPool() async throws {
        // The last of the 100 waits for the 99 before it, three at a time: its acquire deadline bounds the
        // whole run, not one wait (30 s was met by a machine stalled under the full suite).
        let pool = PostgresPool(conninfo: try await TestDatabase.makeDatabase(), maxConnections: 3, acquireTimeout: .seconds(120))
        try await pool.execute("CREATE TABLE hits (n int)")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for value in 0..<100 {
                group.addTask {
                    _ = try await pool.withTransaction { connection in
                        try await connection.execute("INSERT INTO hits VALUES (\(value))")
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await pool.query("SELECT sum(n) AS s FROM hits")[0].decode("s", as: Int.self) == 4950)
        #expect(pool.statistics.open <= 3)
        await pool.close()
    }
}

