/// A statement with the reading of its rows: it can travel in another statement's round trip
/// (`PostgresConnection.pipeline`) and be read where its rows are wanted.
public struct PostgresStatement<Value>: Sendable {
    public let query: PostgresQuery
    public let read: @Sendable (PostgresRows) throws -> Value

    public init(_ query: PostgresQuery, read: @escaping @Sendable (PostgresRows) throws -> Value) {
        self.query = query
        self.read = read
    }
}

extension PostgresConnection {
    /// Runs the statement on its own and reads its rows.
    public func run<Value>(_ statement: PostgresStatement<Value>) async throws -> Value {
        try statement.read(try await query(statement.query))
    }
}
