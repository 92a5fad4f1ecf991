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
    /// A transaction's BEGIN waits to travel with its first statement: one round trip, not two.
    private var beginPending = false
    /// By SQL text: the hot path looks up one string, with no key to build.
    private var statements: [String: PreparedStatement] = [:]
    private var statementCounter = 0

    init(libpq: LibPQConnection) {
        self.libpq = libpq
    }

    var preparedStatementCount: Int { statements.count }

    /// Open, or begun and waiting for its first statement.
    var isInTransaction: Bool { beginPending || libpq.transactionStatus != .idle }

    func begin() {
        beginPending = true
    }

    /// Prepares each distinct SQL text once, then executes it by name.
    func query(_ query: PostgresQuery) throws -> PostgresRows {
        if beginPending { return try pipeline([query])[0] }
        do {
            return try run(query)
        } catch let error as PostgresError where isStale(error, sql: query.sql) && libpq.transactionStatus == .idle {
            // Safe to repeat: the failed attempt ran nothing, and no transaction is open.
            return try run(query)
        }
    }

    /// The statements in one round trip (`LibPQConnection.execPipeline`), a pending BEGIN first (and with
    /// `thenCommit`, COMMIT last); each text not prepared on this connection yet is prepared before (once).
    func pipeline(_ queries: [PostgresQuery], thenCommit: Bool = false) throws -> [PostgresRows] {
        var statements = beginPending ? [LibPQConnection.PipelinedStatement(sql: "BEGIN", binds: [])] : []
        for query in queries {
            statements.append(.init(sql: query.sql, binds: query.binds, preparedName: try preparedStatement(for: query)?.name))
        }
        if thenCommit { statements.append(.init(sql: "COMMIT", binds: [])) }
        beginPending = false
        do {
            let results = try libpq.execPipeline(statements)
            return Array(results.dropLast(thenCommit ? 1 : 0).suffix(queries.count))
        } catch let error as PostgresError {
            _ = isStale(error, sql: error.query ?? "")  // forgets the statement; the caller's transaction decides on a retry
            throw error
        }
    }

    func simpleQuery(_ sql: String) throws {
        if beginPending {
            beginPending = false
            _ = try libpq.exec("BEGIN")
        }
        _ = try libpq.exec(sql)
    }

    /// ROLLBACK; a transaction that never ran a statement has nothing to roll back.
    func rollback() throws {
        if beginPending {
            beginPending = false
            return
        }
        _ = try libpq.exec("ROLLBACK")
    }

    /// COMMIT, except that an aborted transaction is rolled back and reported: a bare
    /// COMMIT would quietly roll back and answer success. A transaction that never ran a
    /// statement, or was committed with its last statements, has nothing to commit.
    func commit() throws {
        if beginPending {
            beginPending = false
            return
        }
        if libpq.transactionStatus == .idle { return }
        if libpq.transactionStatus == .inFailedTransaction {
            _ = try libpq.exec("ROLLBACK")
            throw PostgresError(
                kind: .server, code: .inFailedTransaction,
                message: "the transaction was aborted by an earlier error and has been rolled back")
        }
        _ = try libpq.exec("COMMIT")
    }

    private func run(_ query: PostgresQuery) throws -> PostgresRows {
        if let statement = try preparedStatement(for: query) {
            return try libpq.execPrepared(name: statement.name, binds: query.binds, sql: query.sql)
        }
        return try libpq.execParams(sql: query.sql, binds: query.binds)
    }

    /// The statement prepared for this text, prepared now if new; nil when it runs unnamed: the same text
    /// with other parameter types (a NULL, say: rare), or the cache is full.
    private func preparedStatement(for query: PostgresQuery) throws -> PreparedStatement? {
        if let statement = statements[query.sql] { return statement.accepts(query.binds) ? statement : nil }
        guard statements.count < Self.cacheLimit else { return nil }
        statementCounter += 1
        let statement = PreparedStatement(name: "chargepile_\(statementCounter)", types: query.binds.map(\.type))
        try libpq.prepare(name: statement.name, sql: query.sql, types: statement.types.map(\.rawValue))
        statements[query.sql] = statement
        return statement
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
