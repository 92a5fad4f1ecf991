import ServiceLifecycle

/// Closes this instance's pile sockets with 1001 when a graceful stop begins, before the
/// HTTP server's own shutdown would close them as a normal closure (1000). Run it after the
/// application in one `ServiceGroup`: services stop in reverse order, so it goes first.
public final class PileDrain: Service, @unchecked Sendable {
    // Set once by `buildApplication`, before the group runs.
    var hub: PileHub?

    public init() {}

    public func run() async throws {
        try? await gracefulShutdown()
        await hub?.closeAll()
    }
}
