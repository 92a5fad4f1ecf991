/// The thread-side half of a connection: the libpq handle plus the prepared-statement
/// cache. Every method runs on the connection's `ConnectionExecutor` thread, never
/// concurrently, hence the unchecked `Sendable`.
final class ConnectionSession: @unchecked Sendable {
    private struct PreparedStatement {
        var name: String
        /// The parameter types it was prepared with.
        var types: [PostgresTypeOID]

        func accepts(_ binds: [PostgresBind]) -> Bool {
            types.elementsEqual(binds.lazy.map(\.type))
        }
    }

    /// Beyond this many distinct statements, new ones run unnamed instead of growing the cache.
    private static let cacheLimit = 1024

    let libpq: LibPQConnection
    /// By SQL text: the hot path looks up one string, with no key to build.
    private var statements: [String: PreparedStatement] = [:]
    private var statementCounter = 0

    init(libpq: LibPQConnection) {
        self.libpq = libpq
    }

    var preparedStatementCount: Int { statements.count }

    /// Prepares each distinct SQL text once, then executes it by name.
    func query(_ query: PostgresQuery) throws -> PostgresRows {
        do {
            return try run(query)
        } catch let error as PostgresError where isStale(error, sql: query.sql) && libpq.transactionStatus == .idle {
            // Safe to repeat: the failed attempt ran nothing, and no transaction is open.
            return try run(query)
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

    private func run(_ query: PostgresQuery) throws -> PostgresRows {
        if let statement = statements[query.sql] {
            if statement.accepts(query.binds) {
                return try libpq.execPrepared(name: statement.name, binds: query.binds, sql: query.sql)
            }
            // Same text, other parameter types (a NULL, say): rare, so run it unnamed.
            return try libpq.execParams(sql: query.sql, binds: query.binds)
        }
        guard statements.count < Self.cacheLimit else {
            return try libpq.execParams(sql: query.sql, binds: query.binds)
        }
        statementCounter += 1
        let statement = PreparedStatement(name: "chargepile_\(statementCounter)", types: query.binds.map(\.type))
        try libpq.prepare(name: statement.name, sql: query.sql, types: statement.types.map(\.rawValue))
        statements[query.sql] = statement
        return try libpq.execPrepared(name: statement.name, binds: query.binds, sql: query.sql)
    }

    /// A cached statement the server no longer has (DISCARD ALL, DEALLOCATE) or whose
    /// result shape changed under it (ALTER TABLE): forget it so the retry prepares afresh.
    private func isStale(_ error: PostgresError, sql: String) -> Bool {
        switch error.code {
        case .invalidSQLStatementName?:
            statements.removeAll()
            return true
        case .featureNotSupported? where error.message.contains("cached plan must not change result type"):
            if let statement = statements.removeValue(forKey: sql) {
                _ = try? libpq.exec("DEALLOCATE \(statement.name)")
            }
            return true
        default:
            return false
        }
    }
}
