import Foundation
import PostgresClient
import Testing
import TestSupport

@Suite struct ConnectionTests {
    @Test func preparedStatementsAreReusedAcrossManyQueries() async throws {
        try await withFreshConnection { connection in
            try await connection.unsafeSimpleQuery(
                "CREATE TABLE p (id int PRIMARY KEY, v text); INSERT INTO p SELECT g, 'v' || g FROM generate_series(1, 500) g")
            for id in 1...500 {
                let rows = try await connection.query("SELECT v FROM p WHERE id = \(id)")
                #expect(try rows[0].decode("v", as: String.self) == "v\(id)")
            }
            for id in 1...50 {
                let total = try await connection.query("SELECT count(*) AS n FROM p WHERE id <= \(id)")
                #expect(try total[0].decode("n", as: Int.self) == id)
            }
            let prepared = try await connection.query(
                "SELECT statement FROM pg_prepared_statements ORDER BY statement")
            let statements = try prepared.map { try $0.decode("statement", as: String.self) }
            #expect(statements == [
                "SELECT count(*) AS n FROM p WHERE id <= $1",
                "SELECT statement FROM pg_prepared_statements ORDER BY statement",
                "SELECT v FROM p WHERE id = $1",
            ])
        }
    }

    @Test func cacheSurvivesDeallocateAndSchemaChanges() async throws {
        try await withFreshConnection { connection in
            try await connection.unsafeSimpleQuery("CREATE TABLE c (a int); INSERT INTO c VALUES (1)")
            #expect(try await connection.query("SELECT * FROM c").columnNames == ["a"])
            try await connection.unsafeSimpleQuery("DEALLOCATE ALL")
            #expect(try await connection.query("SELECT * FROM c").columnNames == ["a"])
            try await connection.unsafeSimpleQuery("ALTER TABLE c ADD COLUMN b text DEFAULT 'x'")
            let rows = try await connection.query("SELECT * FROM c")
            #expect(rows.columnNames == ["a", "b"])
            #expect(try rows[0].decode("b", as: String.self) == "x")
        }
    }

    @Test func sameTextWithOtherParameterTypesStillRuns() async throws {
        try await withFreshConnection { connection in
            let number = try await connection.query("SELECT \(7)::text AS v")[0].decode("v", as: String.self)
            let text = try await connection.query("SELECT \("seven")::text AS v")[0].decode("v", as: String.self)
            #expect(number == "7")
            #expect(text == "seven")
        }
    }

    @Test func multiStatementMigrations() async throws {
        try await withFreshConnection { connection in
            try await connection.unsafeSimpleQuery("""
                -- a migration script
                CREATE TABLE piles (id text PRIMARY KEY, power_kw numeric NOT NULL);
                CREATE INDEX piles_power ON piles (power_kw);
                INSERT INTO piles VALUES ('A', 30), ('B', 7);
                CREATE FUNCTION pile_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM piles $$;
                """)
            #expect(try await connection.query("SELECT pile_count() AS n")[0].decode("n", as: Int.self) == 2)
            let error = try await #require(throws: PostgresError.self) {
                try await connection.unsafeSimpleQuery("INSERT INTO piles VALUES ('C', 1); INSERT INTO piles VALUES ('A', 1);")
            }
            #expect(error.code == .uniqueViolation)
            // A simple-query script runs as one implicit transaction: nothing of it stayed.
            #expect(try await connection.query("SELECT pile_count() AS n")[0].decode("n", as: Int.self) == 2)
        }
    }

    @Test func affectedRowsAndColumnNames() async throws {
        try await withFreshConnection { connection in
            try await connection.unsafeSimpleQuery("CREATE TABLE r (id int, n int)")
            #expect(try await connection.execute("INSERT INTO r SELECT g, 0 FROM generate_series(1, 7) g") == 7)
            #expect(try await connection.execute("UPDATE r SET n = 1 WHERE id > \(4)") == 3)
            let rows = try await connection.query("SELECT id, n AS renamed FROM r ORDER BY id")
            #expect(rows.count == 7)
            #expect(rows.columnNames == ["id", "renamed"])
            #expect(try rows.map { try $0.decode(at: 0, as: Int.self) } == Array(1...7))
            #expect(try await connection.query("SELECT * FROM r WHERE false").isEmpty)
        }
    }

    @Test func transactionsCommitAndRollBack() async throws {
        try await withFreshConnection { connection in
            try await connection.unsafeSimpleQuery("CREATE TABLE t (n int)")
            try await connection.withTransaction { try await $0.execute("INSERT INTO t VALUES (\(1))") }
            struct Boom: Error {}
            await #expect(throws: Boom.self) {
                try await connection.withTransaction { connection in
                    try await connection.execute("INSERT INTO t VALUES (\(2))")
                    throw Boom()
                }
            }
            // An error swallowed inside the body still aborts the transaction: COMMIT must not claim success.
            await #expect(throws: PostgresError.self) {
                try await connection.withTransaction { connection in
                    try await connection.execute("INSERT INTO t VALUES (\(3))")
                    _ = try? await connection.query("SELECT * FROM missing_table")
                }
            }
            let values = try await connection.query("SELECT n FROM t ORDER BY n").map { try $0.decode("n", as: Int.self) }
            #expect(values == [1])
        }
    }

    @Test func pipelinedStatementsRunInOrder() async throws {
        try await withFreshConnection { connection in
            try await connection.unsafeSimpleQuery("CREATE TABLE q (n int PRIMARY KEY)")
            let results = try await connection.pipeline([
                "INSERT INTO q VALUES (\(1))",
                "INSERT INTO q VALUES (\(2)) RETURNING n * 10 AS tenfold",
                "SELECT count(*) AS n FROM q",
            ])
            #expect(results.count == 3)
            #expect(results[0].affectedRows == 1)
            #expect(try results[1][0].decode("tenfold", as: Int.self) == 20)
            #expect(try results[2][0].decode("n", as: Int.self) == 2)  // each statement sees the ones before it
        }
    }

    @Test func aFailedPipelineRunsNothingAfterTheFailureAndKeepsNothing() async throws {
        try await withFreshConnection { connection in
            try await connection.unsafeSimpleQuery("CREATE TABLE q (n int PRIMARY KEY)")
            let error = try await #require(throws: PostgresError.self) {
                try await connection.pipeline([
                    "INSERT INTO q VALUES (\(10))",
                    "INSERT INTO missing_table VALUES (\(1))",
                    "INSERT INTO q VALUES (\(11))",
                ])
            }
            #expect(error.code == .undefinedTable)
            // Outside a transaction a pipeline is one implicit transaction: the first insert is gone too.
            #expect(try await connection.query("SELECT count(*) AS n FROM q")[0].decode("n", as: Int.self) == 0)
            let again = try await connection.pipeline(["INSERT INTO q VALUES (\(12))", "SELECT n FROM q"])
            #expect(try again[1][0].decode("n", as: Int.self) == 12)
        }
    }

    @Test func aTransactionsBeginGoesWithItsFirstStatement() async throws {
        try await withFreshConnection { connection in
            try await connection.unsafeSimpleQuery("CREATE TABLE b (n int)")
            // One transaction from the first statement on: now() does not move, and the insert commits with it.
            let (first, second) = try await connection.withTransaction { connection in
                let first: Date = try await connection.query("SELECT now() AS at")[0].decode("at")
                let rows = try await connection.pipeline(["INSERT INTO b VALUES (\(1))", "SELECT pg_sleep(0.01), now() AS at"])
                return (first, try rows[1][0].decode("at", as: Date.self))
            }
            #expect(first == second)
            // A transaction that runs nothing commits nothing, and the connection goes on.
            try await connection.withTransaction { _ in }
            // A first statement that fails rolls the transaction back, BEGIN included.
            await #expect(throws: PostgresError.self) {
                try await connection.withTransaction { connection in
                    try await connection.execute("INSERT INTO missing_table VALUES (\(1))")
                }
            }
            try await connection.withTransaction { connection in
                try await connection.unsafeSimpleQuery("SET LOCAL application_name = 'inside'")
                #expect(try await connection.query("SELECT current_setting('application_name') AS name")[0].decode("name", as: String.self) == "inside")
            }
            #expect(try await connection.query("SELECT current_setting('application_name') AS name")[0].decode("name", as: String.self) != "inside")
            #expect(try await connection.query("SELECT count(*) AS n FROM b")[0].decode("n", as: Int.self) == 1)
        }
    }

    @Test func taskCancellationCancelsTheRunningQuery() async throws {
        try await withFreshConnection { connection in
            let start = ContinuousClock.now
            let sleeper = Task { try await connection.query("SELECT pg_sleep(30)") }
            try await Task.sleep(for: .milliseconds(300))
            sleeper.cancel()
            let error = try await #require(throws: PostgresError.self) { try await sleeper.value }
            #expect(error.code == .queryCanceled)
            #expect(ContinuousClock.now - start < .seconds(10))
            #expect(try await connection.query("SELECT 1 AS one")[0].decode("one", as: Int.self) == 1)
        }
    }

    /// A task cancelled before its statement reached the connection's thread: the statement is not sent.
    @Test func aCancelledTasksQueryIsNotSent() async throws {
        try await withFreshConnection { connection in
            let start = ContinuousClock.now
            let cancelled = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return try await connection.query("SELECT pg_sleep(30)")
            }
            let error = try await #require(throws: PostgresError.self) { try await cancelled.value }
            #expect(error.code == .queryCanceled)
            #expect(ContinuousClock.now - start < .seconds(10))
            #expect(try await connection.query("SELECT 1 AS one")[0].decode("one", as: Int.self) == 1)
        }
    }

    @Test func terminatedBackendMarksTheConnectionBroken() async throws {
        try await withFreshConnection { connection in
            let pid = try await connection.query("SELECT pg_backend_pid() AS pid")[0].decode("pid", as: Int32.self)
            #expect(pid == connection.backendPID)
            #expect(!connection.isBroken)
            try await terminateBackend(pid)
            let error = try await #require(throws: PostgresError.self) { try await connection.query("SELECT 1") }
            #expect(error.kind == .connection)
            #expect(connection.isBroken)
        }
    }

    @Test func closeIsIdempotentAndLaterQueriesFail() async throws {
        let conninfo = try await TestDatabase.makeDatabase()
        let connection = try await PostgresConnection.connect(conninfo)
        await connection.close()
        await connection.close()
        let error = try await #require(throws: PostgresError.self) { try await connection.query("SELECT 1") }
        #expect(error.kind == .closed)
    }

    @Test func concurrentCallsOnOneConnectionAreSerialised() async throws {
        try await withFreshConnection { connection in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for value in 0..<50 {
                    group.addTask { try await connection.query("SELECT \(value) AS v")[0].decode("v", as: Int.self) }
                }
                var seen: [Int] = []
                for try await value in group { seen.append(value) }
                #expect(seen.sorted() == Array(0..<50))
            }
        }
    }
}
