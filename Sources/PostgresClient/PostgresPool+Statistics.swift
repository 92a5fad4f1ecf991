extension PostgresPool {
    public struct Statistics: Sendable, Hashable {
        /// Connections open or being opened.
        public var open: Int
        /// Connections handed out (or being opened for a caller).
        public var inUse: Int
        public var idle: Int
        /// Callers waiting for a connection.
        public var waiting: Int
        /// Completed acquires, successful or not.
        public var acquireCount: Int
        /// Acquires that ended in `.poolTimeout`.
        public var timeoutCount: Int
        /// Time spent in acquire, summed over all callers.
        public var totalAcquireWait: Duration
    }

    public var statistics: Statistics {
        state.withLock { state in
            Statistics(
                open: state.open,
                inUse: state.inUse,
                idle: state.idle.count,
                waiting: state.waiters.count + state.lowWaiters.count,
                acquireCount: state.acquireCount,
                timeoutCount: state.timeoutCount,
                totalAcquireWait: state.totalAcquireWait
            )
        }
    }
}
