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
