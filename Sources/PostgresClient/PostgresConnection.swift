import Dispatch
import Glibc
import Logging
import Synchronization

/// One PostgreSQL connection. Its blocking libpq calls run on its own thread (inline
/// when the calling task already runs there, see `PostgresPool.withConnection`); calls
/// from several tasks are queued in order.
public final class PostgresConnection: Sendable {
    let executor: ConnectionExecutor
    private let session: ConnectionSession
    private let canceller: LibPQCanceller?
    private let broken = Atomic<Bool>(false)
    private let closed = Atomic<Bool>(false)
    private let inTransaction = Atomic<Bool>(false)
    private let operationCounter = Atomic<UInt64>(0)
    /// The id of the operation now running on the thread (0 when idle); cancellation checks it.
    private let runningOperation = Atomic<UInt64>(0)
    /// The id of the latest operation whose task was cancelled: one cancelled before the thread
    /// started it is not sent at all (PQcancel would find nothing running to cancel).
    private let cancelledOperation = Atomic<UInt64>(0)
    let socket: Int32
    let logger: Logger

    public let backendPID: Int32

    private init(executor: ConnectionExecutor, libpq: LibPQConnection, logger: Logger) {
        self.executor = executor
        self.session = ConnectionSession(libpq: libpq)
        self.canceller = libpq.makeCanceller()
        self.socket = libpq.socket
        self.backendPID = libpq.backendPID
        self.logger = logger
    }

    /// Connects with any libpq connection string or URI; `overrides` win over it.
    /// Fails with kind `.connection` (after `connect_timeout`, 2 s unless given).
    public static func connect(
        _ conninfo: String,
        overrides: [String: String] = [:],
        logger: Logger = Logger(label: "chargepile.postgres")
    ) async throws -> PostgresConnection {
        let parameters = PostgresConnectionString.connectParameters(conninfo: conninfo, overrides: overrides)
        let executor = ConnectionExecutor()
        let libpq: LibPQConnection
        do {
            libpq = try await executor.run { try LibPQConnection.connect(parameters, logger: logger) }
        } catch {
            executor.stop()
            throw error
        }
        let connection = PostgresConnection(executor: executor, libpq: libpq, logger: logger)
        logger.debug("postgres connected", metadata: ["backend_pid": "\(connection.backendPID)"])
        return connection
    }

    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        try await perform(sql: query.sql) { session in try session.query(query) }
    }

    /// The statements in one round trip, run one after another as if sent one by one (each sees what the
    /// ones before it did); their rows in order. After a failure the rest are not run and the first error
    /// is thrown. Outside a transaction they commit together or not at all.
    public func pipeline(_ queries: [PostgresQuery]) async throws -> [PostgresRows] {
        try await perform(sql: queries.first?.sql ?? "") { session in try session.pipeline(queries) }
    }

    /// The transaction's last statements and its COMMIT in one round trip (`pipeline`); their rows. The
    /// transaction is over: `withTransaction`'s own COMMIT then has nothing left to do.
    public func commit(after queries: [PostgresQuery]) async throws -> [PostgresRows] {
        try await perform(sql: "COMMIT") { session in try session.pipeline(queries, thenCommit: true) }
    }

    /// Runs a statement and returns the affected row count.
    @discardableResult
    public func execute(_ query: PostgresQuery) async throws -> Int {
        try await self.query(query).affectedRows
    }

    /// Runs a script of one or more statements without parameters (migrations, BEGIN).
    public func unsafeSimpleQuery(_ sql: String) async throws {
        try await perform(sql: sql) { session in try session.simpleQuery(sql) }
    }

    deinit {
        // Closed or not, the handle is finished by LibPQConnection's deinit; end the thread.
        executor.stop()
    }

    /// How many operations (statements, pipelines, BEGIN, COMMIT) this connection was asked to run so far:
    /// two readings tell whether anything was sent in between.
    public var operationsStarted: UInt64 {
        operationCounter.load(ordering: .relaxed)
    }

    /// True once libpq reports the connection bad, or after a failed rollback or `close()`.
    public var isBroken: Bool {
        broken.load(ordering: .acquiring) || closed.load(ordering: .acquiring)
    }

    /// PQfinish, once; later calls return at once and later queries throw `.closed`.
    public func close() async {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = try? await executor.run { [session, canceller] in
            canceller?.free()
            session.libpq.finish()
        }
        logger.debug("postgres connection closed", metadata: ["backend_pid": "\(backendPID)"])
    }

    /// Starts a transaction; its BEGIN is sent with its first statement.
    func begin() async throws {
        try await perform(sql: "BEGIN") { session in session.begin() }
    }

    func commit() async throws {
        try await perform(sql: "COMMIT") { session in try session.commit() }
    }

    func rollback() async throws {
        try await perform(sql: "ROLLBACK") { session in try session.rollback() }
    }

    /// After the last statement: inside a transaction block (open or aborted)?
    var isInTransaction: Bool {
        inTransaction.load(ordering: .acquiring)
    }

    /// The pool discards a connection marked broken instead of reusing it.
    func markBroken() {
        broken.store(true, ordering: .releasing)
    }

    var preparedStatementCount: Int {
        get async { (try? await executor.run { [session] in session.preparedStatementCount }) ?? 0 }
    }

    private func perform<Result: Sendable>(
        sql: String,
        _ body: @escaping @Sendable (ConnectionSession) throws -> Result
    ) async throws -> Result {
        guard !closed.load(ordering: .acquiring) else {
            throw PostgresError(kind: .closed, message: "connection is closed", query: sql)
        }
        let id = operationCounter.wrappingAdd(1, ordering: .relaxed).newValue
        do {
            return try await withTaskCancellationHandler {
                try await executor.run { [self] in
                    runningOperation.store(id, ordering: .sequentiallyConsistent)
                    defer {
                        runningOperation.store(0, ordering: .releasing)
                        if session.libpq.isBad { broken.store(true, ordering: .releasing) }
                        inTransaction.store(session.isInTransaction, ordering: .releasing)
                    }
                    if cancelledOperation.load(ordering: .sequentiallyConsistent) == id {
                        // What the server answers a cancelled statement.
                        throw PostgresError(kind: .server, code: .queryCanceled, message: "canceling statement due to user request", query: sql)
                    }
                    return try body(session)
                }
            } onCancel: {
                cancelledOperation.store(id, ordering: .sequentiallyConsistent)
                cancel(operation: id)
            }
        } catch let error as PostgresError {
            logger.debug("postgres statement failed", metadata: [
                "error": "\(error)", "backend_pid": "\(backendPID)",
            ])
            throw error
        }
    }

    /// Task cancellation: PQcancel, off the cooperative pool, only if that operation still runs.
    private func cancel(operation id: UInt64) {
        guard let canceller else { return }
        DispatchQueue.global().async { [self] in
            if runningOperation.load(ordering: .sequentiallyConsistent) == id {
                canceller.cancel()
            }
        }
    }
}

extension PostgresConnection {
    /// Cheap and non-blocking, so the pool may call it on any thread: an idle connection
    /// has nothing to read unless the server sent something (e.g. a FATAL before closing).
    var idleSocketHasInput: Bool {
        Self.isReadable(socket)
    }

    /// Reads what arrived on an idle connection and reports whether it is still usable.
    func checkIdleHealth() async -> Bool {
        guard !isBroken else { return false }
        let healthy = (try? await executor.run { [session, socket] in
            // A terminated backend sends its FATAL message and then closes: only a read
            // after the message sees the end of the stream, so read until nothing is left.
            for _ in 0..<8 {
                guard session.libpq.consumeInput(), !session.libpq.isBad else { return false }
                _ = session.libpq.drainNotifications()
                if !Self.isReadable(socket) { return true }
            }
            return true
        }) ?? false
        if !healthy { markBroken() }
        return healthy
    }

    private static func isReadable(_ socket: Int32) -> Bool {
        guard socket >= 0 else { return true }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) != 0
    }
}
