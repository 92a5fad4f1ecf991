/// The worker-side half of a connection: the libpq handle plus the prepared-statement
/// cache. Every method runs on the connection's `ConnectionWorker`, never concurrently,
/// hence the unchecked `Sendable`.
final class ConnectionSession: @unchecked Sendable {
    private struct StatementKey: Hashable {
        var sql: String
        var types: [UInt32]
    }

    /// Beyond this many distinct statements, new ones run unnamed instead of growing the cache.
    private static let cacheLimit = 1024

    let libpq: LibPQConnection
    private var statements: [StatementKey: String] = [:]
    private var statementCounter = 0

    init(libpq: LibPQConnection) {
        self.libpq = libpq
    }

    var preparedStatementCount: Int { statements.count }

    /// Prepares each distinct SQL text (and parameter types) once, then executes it by name.
    func query(_ query: PostgresQuery) throws -> PostgresRows {
        let key = StatementKey(sql: query.sql, types: query.binds.map(\.type.rawValue))
        do {
            return try run(query, key: key)
        } catch let error as PostgresError where isStale(error, key: key) && libpq.transactionStatus == .idle {
            // Safe to repeat: the failed attempt ran nothing, and no transaction is open.
            return try run(query, key: key)
        }
    }

    func simpleQuery(_ sql: String) throws {
        _ = try libpq.exec(sql)
    }

    /// COMMIT, except that an aborted transaction is rolled back and reported: a bare
    /// COMMIT would quietly roll back and answer success.
    func commit() throws {
        if libpq.transactionStatus == .inFailedTransaction {
            _ = try libpq.exec("ROLLBACK")
            throw PostgresError(
                kind: .server, code: .inFailedTransaction,
                message: "the transaction was aborted by an earlier error and has been rolled back")
        }
        _ = try libpq.exec("COMMIT")
    }

    private func run(_ query: PostgresQuery, key: StatementKey) throws -> PostgresRows {
        if let name = statements[key] {
            return try libpq.execPrepared(name: name, binds: query.binds, sql: query.sql)
        }
        guard statements.count < Self.cacheLimit else {
            return try libpq.execParams(sql: query.sql, binds: query.binds)
        }
        statementCounter += 1
        let name = "chargepile_\(statementCounter)"
        try libpq.prepare(name: name, sql: query.sql, types: key.types)
        statements[key] = name
        return try libpq.execPrepared(name: name, binds: query.binds, sql: query.sql)
    }

    /// A cached statement the server no longer has (DISCARD ALL, DEALLOCATE) or whose
    /// result shape changed under it (ALTER TABLE): forget it so the retry prepares afresh.
    private func isStale(_ error: PostgresError, key: StatementKey) -> Bool {
        switch error.code {
        case .invalidSQLStatementName?:
            statements.removeAll()
            return true
        case .featureNotSupported? where error.message.contains("cached plan must not change result type"):
            if let name = statements.removeValue(forKey: key) {
                _ = try? libpq.exec("DEALLOCATE \(name)")
            }
            return true
        default:
            return false
        }
    }
}
