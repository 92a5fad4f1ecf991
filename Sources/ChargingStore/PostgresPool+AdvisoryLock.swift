import PostgresClient

extension PostgresPool {
    /// Runs `body` while one pooled connection holds the session advisory lock `key`, so
    /// processes starting together (migrations, first start) take turns.
    public func withAdvisoryLock<Result: Sendable>(
        _ key: Int64, _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await withConnection { connection in
            _ = try await connection.query("SELECT pg_advisory_lock(\(key))")
            do {
                let result = try await body(connection)
                _ = try await connection.query("SELECT pg_advisory_unlock(\(key))")
                return result
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(key))")
                throw error
            }
        }
    }
}
