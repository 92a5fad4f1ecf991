import Foundation
import PostgresClient
import TestSupport
import Testing

@Suite struct ErrorTests {
    @Test func uniqueViolationKeepsSQLStateButRedactsDescription() async throws {
        try await withFreshConnection { connection in
            try await connection.unsafeSimpleQuery("CREATE TABLE accounts (email text UNIQUE)")
            let email = "secret.person@example.com"
            try await connection.execute("INSERT INTO accounts (email) VALUES (\(email))")
            let error = try await #require(throws: PostgresError.self) {
                try await connection.execute("INSERT INTO accounts (email) VALUES (\(email))")
            }
            #expect(error.kind == .server)
            #expect(error.code == .uniqueViolation)
            #expect(error.detail?.contains(email) == true)
            #expect(error.query == "INSERT INTO accounts (email) VALUES ($1)")
            #expect(!error.description.contains(email))
            #expect(!error.description.contains(error.detail!))
            #expect(!String(describing: error).contains(email))
            // The connection is still usable.
            #expect(try await connection.query("SELECT count(*) AS n FROM accounts")[0].decode("n", as: Int.self) == 1)
        }
    }

    @Test func syntaxErrorHasItsSQLState() async throws {
        try await withFreshConnection { connection in
            let error = try await #require(throws: PostgresError.self) {
                try await connection.query("SELEC 1")
            }
            #expect(error.kind == .server)
            #expect(error.code == .syntaxError)
            #expect(error.query == "SELEC 1")
            #expect(error.description.contains("42601"))
            let undefined = try await #require(throws: PostgresError.self) {
                try await connection.query("SELECT * FROM no_such_table")
            }
            #expect(undefined.code == .undefinedTable)
            #expect(try await connection.query("SELECT 1 AS one")[0].decode("one", as: Int.self) == 1)
        }
    }

    @Test func otherConstraintCodes() async throws {
        try await withFreshConnection { connection in
            try await connection.unsafeSimpleQuery("""
                CREATE TABLE parent (id int PRIMARY KEY);
                CREATE TABLE child (id int PRIMARY KEY, parent int NOT NULL REFERENCES parent, n int CHECK (n > 0));
                INSERT INTO parent VALUES (1);
                """)
            let missingParent = try await #require(throws: PostgresError.self) {
                try await connection.execute("INSERT INTO child VALUES (1, \(99), 1)")
            }
            #expect(missingParent.code == .foreignKeyViolation)
            let check = try await #require(throws: PostgresError.self) {
                try await connection.execute("INSERT INTO child VALUES (1, 1, \(-1))")
            }
            #expect(check.code == .checkViolation)
            let notNull = try await #require(throws: PostgresError.self) {
                try await connection.execute("INSERT INTO child VALUES (1, \(Int?.none), 1)")
            }
            #expect(notNull.code == .notNullViolation)
        }
    }

    @Test func connectingToNothingFailsFast() async throws {
        let port = try LoopbackPort.free()
        let start = ContinuousClock.now
        let error = try await #require(throws: PostgresError.self) {
            try await PostgresConnection.connect("host=127.0.0.1 port=\(port) user=postgres dbname=postgres")
        }
        #expect(error.kind == .connection)
        // A refused connect is immediate; the bound only proves it does not hang (libpq has no connect
        // timeout by default). Generous: a two-core machine under six builds took 11.9 s to schedule it once.
        #expect(ContinuousClock.now - start < .seconds(60))
        let pool = PostgresPool(conninfo: "host=127.0.0.1 port=\(port) user=postgres", maxConnections: 2)
        let poolError = try await #require(throws: PostgresError.self) { try await pool.query("SELECT 1") }
        #expect(poolError.kind == .connection)
        #expect(pool.statistics.open == 0)
        await pool.close()
    }

    @Test func badConnectionStringIsAConnectionError() async throws {
        let error = try await #require(throws: PostgresError.self) {
            try await PostgresConnection.connect("host=127.0.0.1 nonsense_option=1")
        }
        #expect(error.kind == .connection)
    }
}
