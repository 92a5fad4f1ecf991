/// Polls `condition` until it holds or `timeout` passes: tests wait for the state they need,
/// never for a fixed time.
public func eventually(
    _ what: String = "condition", timeout: Duration = .seconds(20), _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw EventuallyTimeout(what: what, timeout: timeout)
}

public struct EventuallyTimeout: Error, CustomStringConvertible {
    public var what: String
    public var timeout: Duration
    public var description: String { "\(what) not met within \(timeout)" }
}

/// Runs `body` until it returns, or `timeout` passes and its last error is thrown: for a test's setup on a
/// server configured to refuse work when it is short of capacity (a tiny pool with a tiny acquire deadline).
public func retrying<Value>(
    timeout: Duration = .seconds(20), _ body: () async throws -> Value
) async throws -> Value {
    let deadline = ContinuousClock.now + timeout
    while true {
        do {
            return try await body()
        } catch where ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
