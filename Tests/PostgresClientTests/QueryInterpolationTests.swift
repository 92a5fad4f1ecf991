import PostgresClient
import Testing

@Suite struct QueryInterpolationTests {
    @Test func interpolatedValuesBecomeBinds() {
        let id = 42
        let name = "'; DROP TABLE piles; --"
        let optional: Int? = nil
        let query: PostgresQuery = "SELECT * FROM piles WHERE id = \(id) AND name = \(name) AND x = \(optional)"
        #expect(query.sql == "SELECT * FROM piles WHERE id = $1 AND name = $2 AND x = $3")
        #expect(query.binds == [
            PostgresBind(text: "42", type: .int8),
            PostgresBind(text: name, type: .unspecified),
            PostgresBind(text: nil, type: .int8),
        ])
    }

    @Test func literalHasNoBinds() {
        let query: PostgresQuery = "SELECT 1"
        #expect(query.sql == "SELECT 1")
        #expect(query.binds.isEmpty)
    }

    @Test func identifiersAreQuoted() {
        let table = "weird\"name"
        let query: PostgresQuery = "SELECT * FROM \(identifier: table)"
        #expect(query.sql == "SELECT * FROM \"weird\"\"name\"")
    }

    @Test func descriptionIsRedacted() {
        let error = PostgresError(
            kind: .server, code: .uniqueViolation, message: "duplicate key value violates unique constraint",
            detail: "Key (email)=(secret@example.com) already exists.", query: "INSERT INTO t VALUES ($1)")
        #expect(error.description == "PostgresError(server, 23505): duplicate key value violates unique constraint")
        #expect(!error.description.contains("secret"))
    }

    @Test func connectionStringsMerge() throws {
        let merged = try PostgresConnectionString.keywordValue(
            "postgresql://app@127.0.0.1:5433/base?sslmode=disable", overrides: ["dbname": "it's"])
        // libpq reports the options in its own order.
        #expect(merged == "user='app' dbname='it\\'s' host='127.0.0.1' port='5433' sslmode='disable'")
    }
}
