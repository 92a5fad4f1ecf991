import Foundation

/// What an instance needs to know beyond its database.
public struct ServerConfiguration: Sendable {
    public var host: String = "127.0.0.1"
    public var port: Int = 8080
    /// Unique per process: the owner recorded for the pile sockets this instance holds.
    public var instanceID = UUID()
    public var tokenLifetime: Duration = .seconds(24 * 3600)
    /// How long `status/set` waits for the pile's owner to write the frame.
    public var commandTimeout: Duration = .seconds(3)
    public var pingInterval: Duration = .seconds(20)
    public var heartbeatInterval: Duration = .seconds(2)
    /// An instance whose heartbeat is older than this is dead; its piles go offline.
    public var instanceExpiry: Duration = .seconds(10)
    public var passwordHasher = PasswordHasher()

    public init() {}
}
