import ChargingDomain
import Synchronization

/// Status changes a pile may report: at most `limit` changes per `window` (real time, per pile, on this
/// instance, which holds the pile's socket). A report of the status the pile last reported is not a change
/// and always passes; a change beyond the rate is refused and not applied, so a flapping pile cannot make
/// the station fault and bill its car over and over.
final class PileStatusRateLimiter: Sendable {
    struct Limit: Sendable, Equatable {
        var changes: Int
        var window: Duration
    }

    private struct History {
        var lastStatus: PileStatus?
        var changes: [ContinuousClock.Instant] = []
    }

    let limit: Limit
    private let clock = ContinuousClock()
    private let histories = Mutex<[Int: History]>([:])

    init(_ limit: Limit) {
        self.limit = limit
    }

    /// True when the report may be applied (and counts it); false when it is one change too many.
    func allow(pileID: Int, status: PileStatus) -> Bool {
        let now = clock.now
        return histories.withLock { histories in
            var history = histories[pileID] ?? History()
            defer { histories[pileID] = history }
            guard history.lastStatus != status else { return true }
            history.changes.removeAll { now - $0 >= limit.window }
            guard history.changes.count < limit.changes else { return false }
            history.changes.append(now)
            history.lastStatus = status
            return true
        }
    }
}
