import Logging
import Synchronization

/// A bounded pool of lazily opened connections.
///
/// Past `maxConnections`, acquiring waits (first come, first served within a priority) and fails
/// with `.poolTimeout` after `acquireTimeout`. A connection that comes back broken is closed;
/// an idle one that turns out broken on acquire is replaced by a new one.
///
/// Work acquired at `.low` priority (a task running with `PostgresPool.$priority` set so) is
/// served only when no normal work waits, and never holds more than `lowPriorityLimit`
/// connections: a reconnect storm's thousands of logins and claims queue behind the clients
/// already being served instead of in front of them, and a connection is left for those. As it
/// waits behind everyone, it may wait five times `acquireTimeout` before `.poolTimeout`.
public final class PostgresPool: Sendable {
    public enum Priority: Sendable {
        case normal
        /// Admitting newcomers: served after everyone else, on part of the pool.
        case low
    }

    /// The priority of the connections this task acquires.
    @TaskLocal public static var priority: Priority = .normal

    enum Grant: Sendable {
        case connection(PostgresConnection)
        /// A slot is reserved: open a new connection for it.
        case create
    }

    struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Grant, any Error>
    }

    struct State {
        var idle: [PostgresConnection] = []
        /// Open or being opened; never above `maxConnections`.
        var open = 0
        var inUse = 0
        /// Of `inUse`, those acquired at `.low` priority.
        var lowInUse = 0
        var waiters: [Waiter] = []
        var lowWaiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        var closed = false
        var acquireCount = 0
        var timeoutCount = 0
        var totalAcquireWait: Duration = .zero
    }

    let state = Mutex(State())
    private let conninfo: String
    private let overrides: [String: String]
    public let maxConnections: Int
    /// The most connections `.low` priority work holds at once (three quarters of the pool, at least one).
    public let lowPriorityLimit: Int
    public let acquireTimeout: Duration
    private let logger: Logger

    public init(
        conninfo: String,
        overrides: [String: String] = [:],
        maxConnections: Int = 10,
        acquireTimeout: Duration = .seconds(2),
        logger: Logger = Logger(label: "chargepile.postgres.pool")
    ) {
        precondition(maxConnections > 0, "a pool needs at least one connection")
        self.conninfo = conninfo
        self.overrides = overrides
        self.maxConnections = maxConnections
        self.lowPriorityLimit = max(1, maxConnections * 3 / 4)
        self.acquireTimeout = acquireTimeout
        self.logger = logger
    }

    /// Lends one connection to `body`. The body runs with the connection's thread as
    /// its preferred task executor, so its queries run there inline with no thread hop;
    /// child tasks it starts inherit that preference (and so share that one thread).
    public func withConnection<Result: Sendable>(
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let priority = Self.priority
        let connection = try await acquire(priority)
        let result: Result
        do {
            result = try await withTaskExecutorPreference(connection.executor) {
                try await body(connection)
            }
        } catch {
            await release(connection, priority)
            throw error
        }
        await release(connection, priority)
        return result
    }

    /// BEGIN … COMMIT on one pooled connection; ROLLBACK when `body` throws, and the
    /// connection is discarded if even that fails.
    @discardableResult
    public func withTransaction<Result: Sendable>(
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await withConnection { connection in
            try await connection.withTransaction(body)
        }
    }

    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        try await withConnection { connection in try await connection.query(query) }
    }

    @discardableResult
    public func execute(_ query: PostgresQuery) async throws -> Int {
        try await withConnection { connection in try await connection.execute(query) }
    }

    /// Closes idle connections now and in-use ones when they come back; waiters fail with `.closed`.
    public func close() async {
        let (idle, waiters) = state.withLock { state in
            state.closed = true
            defer {
                state.open -= state.idle.count
                state.idle = []
                state.waiters = []
                state.lowWaiters = []
            }
            return (state.idle, state.waiters + state.lowWaiters)
        }
        for waiter in waiters {
            waiter.continuation.resume(throwing: PostgresError(kind: .closed, message: "the pool was closed"))
        }
        for connection in idle {
            await connection.close()
        }
    }

    // MARK: - Acquire and release

    private func acquire(_ priority: Priority) async throws -> PostgresConnection {
        let start = ContinuousClock.now
        defer {
            let waited = ContinuousClock.now - start
            state.withLock { state in
                state.acquireCount += 1
                state.totalAcquireWait += waited
            }
        }
        var grant = try await nextGrant(priority)
        while true {
            switch grant {
            case .connection(let connection):
                if await isUsable(connection) { return connection }
                logger.debug("replacing a broken idle postgres connection", metadata: [
                    "backend_pid": "\(connection.backendPID)",
                ])
                await connection.close()
                grant = .create  // keep its slot for the replacement
            case .create:
                do {
                    return try await PostgresConnection.connect(conninfo, overrides: overrides, logger: logger)
                } catch {
                    giveUpSlot(priority)
                    throw error
                }
            }
        }
    }

    private func nextGrant(_ priority: Priority) async throws -> Grant {
        enum Decision { case grant(Grant), wait, closed }
        let decision: Decision = state.withLock { state in
            if state.closed { return .closed }
            return immediateGrant(priority, &state).map(Decision.grant) ?? .wait
        }
        switch decision {
        case .grant(let grant): return grant
        case .closed: throw PostgresError(kind: .closed, message: "the pool is closed")
        case .wait: return try await waitForGrant(priority)
        }
    }

    /// A connection (or a slot to open one) for `priority` right now, if the pool has one for it.
    private func immediateGrant(_ priority: Priority, _ state: inout State) -> Grant? {
        if priority == .low, state.lowInUse >= lowPriorityLimit || !state.waiters.isEmpty { return nil }
        if let connection = state.idle.popLast() {
            state.take(priority)
            return .connection(connection)
        }
        if state.open < maxConnections {
            state.open += 1
            state.take(priority)
            return .create
        }
        return nil
    }

    private func waitForGrant(_ priority: Priority) async throws -> Grant {
        let id = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        let deadline = priority == .low ? acquireTimeout * 5 : acquireTimeout
        let timeout = Task {
            try await Task.sleep(for: deadline)
            self.failWaiter(id, with: PostgresError(
                kind: .poolTimeout,
                message: "no connection became free within \(deadline) (max \(self.maxConnections))"
            ), countAsTimeout: true)
        }
        defer { timeout.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                enum Enqueued { case waiting, granted(Grant), closed }
                let enqueued: Enqueued = state.withLock { state in
                    if state.closed { return .closed }
                    // A connection may have come free since this caller decided to wait; nobody would hand it over.
                    if let grant = immediateGrant(priority, &state) { return .granted(grant) }
                    let waiter = Waiter(id: id, continuation: continuation)
                    if priority == .low { state.lowWaiters.append(waiter) } else { state.waiters.append(waiter) }
                    return .waiting
                }
                switch enqueued {
                case .closed: continuation.resume(throwing: PostgresError(kind: .closed, message: "the pool is closed"))
                case .granted(let grant): continuation.resume(returning: grant)
                case .waiting: if Task.isCancelled { failWaiter(id, with: CancellationError()) }
                }
            }
        } onCancel: {
            failWaiter(id, with: CancellationError())
        }
    }

    private func failWaiter(_ id: UInt64, with error: any Error, countAsTimeout: Bool = false) {
        let waiter: Waiter? = state.withLock { state in
            let removed: Waiter
            if let index = state.waiters.firstIndex(where: { $0.id == id }) {
                removed = state.waiters.remove(at: index)
            } else if let index = state.lowWaiters.firstIndex(where: { $0.id == id }) {
                removed = state.lowWaiters.remove(at: index)
            } else {
                return nil
            }
            if countAsTimeout { state.timeoutCount += 1 }
            return removed
        }
        waiter?.continuation.resume(throwing: error)
    }

    private func isUsable(_ connection: PostgresConnection) async -> Bool {
        if connection.isBroken { return false }
        if connection.idleSocketHasInput { return await connection.checkIdleHealth() }
        return true
    }

    /// A connection attempt failed: free its slot, or hand it to the next waiter to try.
    private func giveUpSlot(_ priority: Priority) {
        let waiter: Waiter? = state.withLock { state in
            state.give(priority)
            if let waiter = state.nextWaiter(lowPriorityLimit: lowPriorityLimit) { return waiter }
            state.open -= 1
            return nil
        }
        waiter?.continuation.resume(returning: .create)
    }

    private func release(_ connection: PostgresConnection, _ priority: Priority) async {
        if !connection.isBroken, connection.isInTransaction {
            // The body left a transaction open (or aborted); never hand that to the next user.
            do {
                try await connection.rollback()
            } catch {
                connection.markBroken()
            }
        }
        if connection.isBroken {
            await connection.close()
            giveUpSlot(priority)
            return
        }
        enum Next { case handOver(Waiter), keep, close }
        let next: Next = state.withLock { state in
            state.give(priority)
            if state.closed {
                state.open -= 1
                return .close
            }
            if let waiter = state.nextWaiter(lowPriorityLimit: lowPriorityLimit) { return .handOver(waiter) }
            state.idle.append(connection)
            return .keep
        }
        switch next {
        case .handOver(let waiter): waiter.continuation.resume(returning: .connection(connection))
        case .close: await connection.close()
        case .keep: break
        }
    }
}

extension PostgresPool.State {
    mutating func take(_ priority: PostgresPool.Priority) {
        inUse += 1
        if priority == .low { lowInUse += 1 }
    }

    mutating func give(_ priority: PostgresPool.Priority) {
        inUse -= 1
        if priority == .low { lowInUse -= 1 }
    }

    /// Who gets a connection coming free: the first normal waiter, else the first low one while low
    /// work holds fewer than its limit. The one returned holds it from now on.
    mutating func nextWaiter(lowPriorityLimit: Int) -> PostgresPool.Waiter? {
        if !waiters.isEmpty {
            take(.normal)
            return waiters.removeFirst()
        }
        if !lowWaiters.isEmpty, lowInUse < lowPriorityLimit {
            take(.low)
            return lowWaiters.removeFirst()
        }
        return nil
    }
}
