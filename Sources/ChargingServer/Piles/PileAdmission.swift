import Synchronization

/// How many chargers an instance lets in per second: `/p/login` of our protocol and OCPP's
/// BootNotification each take one admission. Over the rate a charger is told when to come back
/// (`-1` with `retry_after`, BootNotification `Pending` with that `interval`), so a reconnect storm
/// of thousands is let in at the rate the database keeps up with, while the chargers this instance
/// already holds go on being answered.
///
/// A token bucket of `rate` a second holding up to one second's worth. Each refused charger is
/// given its own later second: the refusals of one moment are spread over the seconds ahead at the
/// rate, rather than all told to come back together.
public final class PileAdmission: Sendable {
    public enum Decision: Equatable, Sendable {
        case admitted
        /// Come back after this many whole seconds (at least 1).
        case retry(afterSeconds: Int)
    }

    /// Admissions per second; nil admits everyone.
    public let rate: Int?
    private let state: Mutex<State>

    private struct State {
        var tokens: Double
        var refilledAt: ContinuousClock.Instant
        /// The latest second already promised to a refused charger.
        var promisedUntil: ContinuousClock.Instant
    }

    public init(rate: Int?, now: ContinuousClock.Instant = .now) {
        self.rate = rate.map { max(1, $0) }
        state = Mutex(State(tokens: Double(self.rate ?? 0), refilledAt: now, promisedUntil: now))
    }

    public func admit(now: ContinuousClock.Instant = .now) -> Decision {
        guard let rate else { return .admitted }
        let perSecond = Double(rate)
        return state.withLock { state in
            let elapsed = max(0, (now - state.refilledAt) / .seconds(1))
            state.tokens = min(perSecond, state.tokens + elapsed * perSecond)
            state.refilledAt = now
            if state.tokens >= 1 {
                state.tokens -= 1
                return .admitted
            }
            // One more charger on the queue of promises: each second ahead takes `rate` of them.
            let slot = max(state.promisedUntil, now) + .seconds(1 / perSecond)
            state.promisedUntil = slot
            let wait = (slot - now) / .seconds(1)
            return .retry(afterSeconds: max(1, Int(wait.rounded(.up))))
        }
    }
}
