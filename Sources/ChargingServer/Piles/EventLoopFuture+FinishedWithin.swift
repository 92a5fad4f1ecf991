import NIOConcurrencyHelpers
import NIOCore

extension EventLoopFuture where Value == Void {
    /// True when this future succeeds within `timeout`; false when it fails or takes longer.
    func finished(within timeout: TimeAmount) -> EventLoopFuture<Bool> {
        let result = eventLoop.makePromise(of: Bool.self)
        let decided = NIOLockedValueBox(false)
        @Sendable func decide(_ finished: Bool) {
            let first = decided.withLockedValue { decided in
                guard !decided else { return false }
                decided = true
                return true
            }
            if first { result.succeed(finished) }
        }
        let timer = eventLoop.scheduleTask(in: timeout) { decide(false) }
        whenComplete { outcome in
            timer.cancel()
            decide((try? outcome.get()) != nil)
        }
        return result.futureResult
    }
}
