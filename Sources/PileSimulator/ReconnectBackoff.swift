/// How long a charger waits before its next connection attempt: exponential backoff with jitter, as
/// real chargers do after losing their central system (OCPP 2.0.1's RetryBackOff… settings describe the
/// same), so thousands that lost one instance together do not all come back in the same instant.
///
/// Attempt n (0 for the first retry) waits a random time in [c/2, c), c = min(maximum, initial · 2ⁿ):
/// half of it fixed, so no charger retries at once, and half random, so they spread.
public struct ReconnectBackoff: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration

    public init(initial: Duration = .seconds(1), maximum: Duration = .seconds(30)) {
        self.initial = initial
        self.maximum = max(initial, maximum)
    }

    /// The delay before attempt `attempt`; `random` is uniform in [0, 1).
    public func delay(attempt: Int, random: Double) -> Duration {
        let ceiling = self.ceiling(attempt: attempt)
        let fraction = 0.5 + 0.5 * min(max(random, 0), 1)
        return ceiling * fraction
    }

    /// The same with a fresh random number.
    public func delay(attempt: Int) -> Duration {
        delay(attempt: attempt, random: Double.random(in: 0..<1))
    }

    func ceiling(attempt: Int) -> Duration {
        var ceiling = initial
        for _ in 0..<max(0, min(attempt, 62)) {
            ceiling = ceiling * 2
            if ceiling >= maximum { return maximum }
        }
        return min(ceiling, maximum)
    }
}
