import Glibc
import Logging

/// The listener's thread: owns its libpq connection, waits on the socket with poll(),
/// and keeps that waiting apart from the protocol steps (connect, LISTEN, read).
final class ListenerLoop: @unchecked Sendable {
    private static let initialBackoff = 0.05
    private static let maximumBackoff = 1.0

    private let parameters: [(key: String, value: String)]
    private let control: ListenerControl
    private let logger: Logger
    private var connection: LibPQConnection?

    init(parameters: [(key: String, value: String)], control: ListenerControl, logger: Logger) {
        self.parameters = parameters
        self.control = control
        self.logger = logger
    }

    func run() {
        var backoff = Self.initialBackoff
        defer { dropConnection() }
        while !control.isStopRequested {
            guard let connection else {
                // Requests made while disconnected are already recorded in the channel set.
                control.takeRequests().forEach { $0.continuation.resume() }
                if connect() {
                    backoff = Self.initialBackoff
                } else {
                    waitForWakeup(orSeconds: backoff)
                    backoff = min(backoff * 2, Self.maximumBackoff)
                }
                continue
            }
            carryOutRequests(on: connection)
            guard !connection.isBad else {
                logger.warning("postgres listener connection lost; reconnecting")
                dropConnection()
                continue
            }
            let socketReadable = waitForInput(socket: connection.socket)
            control.wakeup.drain()
            if socketReadable {
                guard connection.consumeInput(), !connection.isBad else {
                    logger.warning("postgres listener connection lost; reconnecting", metadata: [
                        "error": "\(connection.errorMessage)",
                    ])
                    dropConnection()
                    continue
                }
                deliverNotifications(from: connection)
            }
        }
    }

    private func connect() -> Bool {
        do {
            let connection = try LibPQConnection.connect(parameters, logger: logger)
            self.connection = connection
            let channels = control.channels
            if !channels.isEmpty {
                let statements = try channels.map { "LISTEN \(try connection.escapeIdentifier($0));" }
                _ = try connection.exec(statements.joined(separator: " "))
            }
            logger.debug("postgres listener connected", metadata: [
                "backend_pid": "\(connection.backendPID)", "channels": "\(channels.count)",
            ])
            control.events.yield(.reconnected)
            deliverNotifications(from: connection)
            return true
        } catch {
            logger.warning("postgres listener cannot connect; retrying", metadata: ["error": "\(error)"])
            dropConnection()
            return false
        }
    }

    private func carryOutRequests(on connection: LibPQConnection) {
        for request in control.takeRequests() {
            do {
                switch request.command {
                case .listen(let channel):
                    _ = try connection.exec("LISTEN \(try connection.escapeIdentifier(channel))")
                case .unlisten(let channel):
                    _ = try connection.exec("UNLISTEN \(try connection.escapeIdentifier(channel))")
                }
                request.continuation.resume()
            } catch {
                if connection.isBad {
                    request.continuation.resume()  // recorded; the reconnect re-LISTENs it
                } else {
                    request.continuation.resume(throwing: error)
                }
            }
        }
        deliverNotifications(from: connection)
    }

    private func deliverNotifications(from connection: LibPQConnection) {
        for notification in connection.drainNotifications() {
            control.events.yield(.notification(notification))
        }
    }

    private func dropConnection() {
        connection?.finish()
        connection = nil
    }

    /// Blocks until the socket is readable or the wake-up fires; true when the socket is.
    private func waitForInput(socket: Int32) -> Bool {
        var descriptors = [
            pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
            pollfd(fd: control.wakeup.descriptor, events: Int16(POLLIN), revents: 0),
        ]
        while poll(&descriptors, 2, -1) < 0 {
            guard errno == EINTR else { return true }  // let consumeInput report the failure
        }
        return descriptors[0].revents != 0
    }

    private func waitForWakeup(orSeconds seconds: Double) {
        var descriptor = pollfd(fd: control.wakeup.descriptor, events: Int16(POLLIN), revents: 0)
        _ = poll(&descriptor, 1, Int32(seconds * 1000))
        control.wakeup.drain()
    }
}
