import Foundation
import Logging

/// LISTEN on a dedicated connection that reconnects by itself.
///
/// Notifications sent while it is reconnecting are lost (that is NOTIFY's nature), so
/// after every successful (re)connect and re-LISTEN it emits `.reconnected`: consumers
/// re-read whatever state the notifications stand for. The first connect emits it too.
public final class PostgresListener: Sendable {
    public enum Event: Sendable {
        case notification(PostgresNotification)
        case reconnected
    }

    /// For a single consumer; finishes when `run()` returns.
    public let events: AsyncStream<Event>
    private let control: ListenerControl
    private let parameters: [(key: String, value: String)]
    private let logger: Logger

    public init(
        conninfo: String,
        overrides: [String: String] = [:],
        logger: Logger = Logger(label: "chargepile.postgres.listener")
    ) {
        let (events, continuation) = AsyncStream.makeStream(of: Event.self)
        self.events = events
        self.control = ListenerControl(events: continuation)
        self.parameters = PostgresConnectionString.connectParameters(conninfo: conninfo, overrides: overrides)
        self.logger = logger
    }

    /// Adds a channel. Before `run()` (or while reconnecting) it is recorded and listened
    /// on connect; while connected this returns once the LISTEN has executed.
    public func listen(_ channel: String) async throws {
        try await control.submit(.listen(channel))
    }

    public func unlisten(_ channel: String) async throws {
        try await control.submit(.unlisten(channel))
    }

    /// Runs the listener's own thread until the calling task is cancelled; runs once.
    public func run() async throws {
        try control.beginRun()
        let loop = ListenerLoop(parameters: parameters, control: control, logger: logger)
        await withTaskCancellationHandler {
            await withCheckedContinuation { (finished: CheckedContinuation<Void, Never>) in
                let thread = Thread {
                    loop.run()
                    finished.resume()
                }
                thread.name = "chargepile.postgres.listener"
                thread.start()
            }
        } onCancel: { [control] in
            control.requestStop()
        }
        control.endRun()
    }
}
