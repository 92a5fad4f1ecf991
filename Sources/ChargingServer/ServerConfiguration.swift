import ChargingStore
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
    /// An HTTP connection with no request for this long is closed (before its first one too).
    /// Longer than nginx's 60 s upstream keep-alive, so the proxy always closes first.
    public var idleTimeout: Duration = .seconds(75)
    /// Open connections (HTTP and pile sockets) beyond which new ones are closed at once.
    public var maxConnections = 16_000
    /// Chargers let in per second (`/p/login`, OCPP BootNotification); over it they are told to come back
    /// (`PileAdmission`). nil lets everyone in at once.
    public var admissionRate: Int? = 1000
    public var heartbeatInterval: Duration = .seconds(2)
    /// An instance whose heartbeat is older than this is dead; its piles go offline.
    public var instanceExpiry: Duration = .seconds(10)
    /// How long a pile may stay offline before its cars are rescheduled as after a fault.
    public var offlineGrace: Duration = .seconds(60)
    /// A pile's own status reports may change its status at most this many times per `statusChangeWindow`;
    /// more are refused (`error` frame) or, from an OCPP charger, acknowledged and ignored.
    public var statusChangeLimit: Int = 5
    public var statusChangeWindow: Duration = .seconds(10)
    /// How often each instance checks whether a station has completions due.
    public var tickInterval: Duration = .milliseconds(500)
    /// How long a CALL to an OCPP charger waits for its answer (operator calls, start/stop).
    public var ocppCallTimeout: Duration = .seconds(30)
    /// How long a charger's CALL waits for a busy or restarting database before it gets a CALLERROR.
    public var ocppBusyDeadline: Duration = .seconds(30)
    /// How often each instance advances firmware and diagnostics operations (sends the next chargers their
    /// call, asks silent ones for their status).
    public var ocppOperationInterval: Duration = .seconds(2)
    /// Whether OCPP chargers' local authorization lists are kept in sync with the idTags (`LocalListService`).
    public var ocppLocalListSync = false
    /// The main PostgreSQL pool: its connections, and how long a request waits for one.
    public var databaseConnections = 10
    public var databaseAcquireTimeout: Duration = .seconds(2)
    /// The Heartbeat interval OCPP chargers get in their BootNotification answer.
    public var ocppHeartbeatInterval: Duration = .seconds(300)
    /// The DataTransfer vendorId this central system answers for; nil: every DataTransfer gets UnknownVendorId.
    public var ocppDataTransferVendor: String?
    /// The supply a power limit is converted with for an OCPP charger whose charging profiles take amperes only.
    public var ocppSupply = OCPPSupply()
    public var passwordHasher = PasswordHasher()
    public var firstStart = FirstStart()
    /// When set, every station's clock is reset to it at start (`serve --clock …`).
    public var clock: ClockSetting?
    /// Origins whose browsers may read the API's answers (CORS); `*` for any. None by default.
    public var corsOrigins: [String] = []
    /// How often the console event stream sends a keep-alive (and finds closed connections).
    public var consoleKeepalive: Duration = .seconds(15)
    /// How often an instance with a console open reads the console change counters.
    public var consolePoll: Duration = .milliseconds(250)

    /// Proxies whose `X-Forwarded-For` names the client (nginx): none by default, so the socket's peer is the client.
    public var trustedProxies: TrustedNetworks = .none
    /// Whether the `trustedProxies` set the TLS headers (`X-Chargepile-TLS`, `-Client-Verify`, `-Client-Subject`) on
    /// every request, so they are believed from them: without it no connection counts as TLS, and piles on
    /// security profile 2 or 3 cannot connect.
    public var proxyTLSHeaders = false
    /// The operator's CA that signs chargers' SignCertificate requests; nil: they are answered Rejected.
    public var ocppCertificateAuthority: ChargerCertificateAuthority?
    /// Clients that may read `/metrics` (after `trustedProxies` resolution): loopback by default.
    public var metricsClients: TrustedNetworks = .loopback
    /// Login throttling and registration limits.
    public var loginDefence = LoginDefence()
    /// How often pile sockets' tokens are checked (a revoked or expired one closes its socket).
    public var tokenCheckInterval: Duration = .seconds(15)
    /// How often expired tokens and stale login counters are deleted.
    public var tokenPurgeInterval: Duration = .seconds(600)

    public struct ClockSetting: Sendable {
        public var mode: StationClock.Mode
        public var speed: Double
        public var start: Date?

        public init(mode: StationClock.Mode, speed: Double = 1, start: Date? = nil) {
            self.mode = mode
            self.speed = speed
            self.start = start
        }
    }

    public init() {}
}
