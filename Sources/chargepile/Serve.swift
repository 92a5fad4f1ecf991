import ArgumentParser
import ChargingServer
import ChargingStore
import EmbeddedPostgres
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run one instance (with no DATABASE_URL: on the embedded PostgreSQL).")

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (default: $PORT or 8080).") var port: Int?
    @Option(help: "Station clock: real, scaled or manual. Stored in PostgreSQL, so every instance agrees.")
    var clock: StationClock.Mode?
    @Option(name: .customLong("clock-speed"), help: "Station seconds per real second, for --clock scaled.") var clockSpeed: Double = 1
    @Option(name: .customLong("clock-start"), help: "Station time to start from (ISO-8601), for scaled and manual clocks.")
    var clockStart: String?
    @Option(name: .customLong("command-timeout"), help: "Seconds status/set waits for the pile's WebSocket write.")
    var commandTimeout: Double = 3
    @Option(name: .customLong("ping-interval"), help: "Seconds between WebSocket pings to piles.") var pingInterval: Double = 20
    @Option(name: .customLong("offline-grace"), help: "Seconds a pile may be offline before its cars are rescheduled.")
    var offlineGrace: Double = 60
    @Option(name: .customLong("status-change-limit"), help: "Status changes a pile may report per --status-change-window; more are refused.")
    var statusChangeLimit: Int = 5
    @Option(name: .customLong("status-change-window"), help: "Seconds over which --status-change-limit counts.")
    var statusChangeWindow: Double = 10
    @Option(name: .customLong("idle-timeout"), help: "Seconds an HTTP connection may wait for its next request.")
    var idleTimeout: Double = 75
    @Option(name: .customLong("max-connections"), help: "Open connections (HTTP and pile sockets) beyond which new ones are refused.")
    var maxConnections = 16_000
    @Option(name: .customLong("admission-rate"),
            help: "Chargers let in per second (pile logins and OCPP BootNotifications); more are told to retry (OCPP: Pending). 0: no limit.")
    var admissionRate = 1000
    @Option(name: .customLong("ocpp-call-timeout"), help: "Seconds a CALL to an OCPP charger waits for its answer when no command row gives it a deadline.")
    var ocppCallTimeout: Double = 30
    @Option(name: .customLong("ocpp-busy-deadline"), help: "Seconds a charger's CALL may wait for a busy or restarting database before a CALLERROR.")
    var ocppBusyDeadline: Double = 30
    @Option(name: .customLong("database-connections"), help: "PostgreSQL connections in the main pool of this instance.")
    var databaseConnections = 10
    @Option(name: .customLong("ocpp-heartbeat-interval"), help: "Heartbeat interval (s) OCPP chargers are given at boot.")
    var ocppHeartbeatInterval: Double = 300
    @Option(name: .customLong("ocpp-supply-voltage"),
            help: "Volts per phase a power limit is converted to amperes with, for OCPP chargers whose profiles take A only.")
    var ocppSupplyVoltage: Double = 230
    @Option(name: .customLong("ocpp-supply-phases"), help: "Phases (1 or 3) for that conversion.")
    var ocppSupplyPhases = 3
    @Option(name: .customLong("ocpp-vendor"), help: "DataTransfer vendorId to answer for (default: none, UnknownVendorId).")
    var ocppVendor: String?
    @Flag(name: .customLong("ocpp-local-list-sync"),
          help: "Keep OCPP chargers' local authorization lists equal to the idTags (chargers with LocalAuthListManagement enabled).")
    var ocppLocalListSync = false
    @Option(name: .customLong("cors-origin"), help: "An origin whose browsers may call the API (repeatable; * for any; also CHARGEPILE_CORS_ORIGINS).")
    var corsOrigins: [String] = []
    @Option(name: .customLong("trusted-proxy"), help: "A proxy (address or CIDR) whose X-Forwarded-For names the client (repeatable or comma-separated; also CHARGEPILE_TRUSTED_PROXIES).")
    var trustedProxies: [String] = []
    @Flag(name: .customLong("proxy-tls-headers"),
          help: "The --trusted-proxy terminates TLS and sets X-Chargepile-TLS, -Client-Verify and -Client-Subject on every request (also CHARGEPILE_PROXY_TLS_HEADERS=1); needed by piles on OCPP security profile 2 or 3.")
    var proxyTLSHeaders = false
    @Option(name: .customLong("ocpp-ca-certificate"),
            help: "PEM file of the operator's CA that signs chargers' SignCertificate requests (with --ocpp-ca-key; also CHARGEPILE_OCPP_CA_CERTIFICATE).")
    var ocppCACertificate: String?
    @Option(name: .customLong("ocpp-ca-key"),
            help: "PEM file of that CA's private key, readable only by chargepile (also CHARGEPILE_OCPP_CA_KEY).")
    var ocppCAKey: String?
    @Option(name: .customLong("metrics-allow"), help: "A client (address or CIDR) that may read /metrics (repeatable or comma-separated; also CHARGEPILE_METRICS_ALLOW; default loopback).")
    var metricsAllow: [String] = []
    @Option(name: .customLong("register-limit"), help: "Registrations accepted per client address and hour.")
    var registerLimit: Int = 20
    @Option(name: .customLong("login-free-failures"),
            help: "Failed logins (and charger handshakes) of an account before it must wait; an address gets ten times as many.")
    var loginFreeFailures: Int = 3
    @Option(name: .customLong("token-check-interval"), help: "Seconds between checks that closes pile sockets whose token was revoked or expired.")
    var tokenCheckInterval: Double = 15

    func validate() throws {
        guard admissionRate >= 0 else { throw ValidationError("--admission-rate must be ≥ 0 (0: no limit)") }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let logger = makeLogger("chargepile")
        let database = try DatabaseLocation.resolve()
        database.announce()

        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port ?? environment["PORT"].flatMap(Int.init) ?? 8080
        configuration.commandTimeout = .seconds(commandTimeout)
        configuration.pingInterval = .seconds(pingInterval)
        configuration.offlineGrace = .seconds(offlineGrace)
        configuration.idleTimeout = .seconds(idleTimeout)
        configuration.maxConnections = maxConnections
        configuration.admissionRate = admissionRate > 0 ? admissionRate : nil
        configuration.statusChangeLimit = statusChangeLimit
        configuration.statusChangeWindow = .seconds(statusChangeWindow)
        configuration.ocppCallTimeout = .seconds(ocppCallTimeout)
        configuration.ocppBusyDeadline = .seconds(ocppBusyDeadline)
        guard databaseConnections > 0, ocppBusyDeadline >= 0 else {
            throw ValidationError("--database-connections must be positive and --ocpp-busy-deadline not negative")
        }
        configuration.databaseConnections = databaseConnections
        configuration.ocppHeartbeatInterval = .seconds(ocppHeartbeatInterval)
        configuration.ocppDataTransferVendor = ocppVendor
        guard ocppSupplyVoltage.isFinite, ocppSupplyVoltage >= 100, ocppSupplyVoltage <= 1000, [1, 3].contains(ocppSupplyPhases) else {
            throw ValidationError("--ocpp-supply-voltage must be 100–1000 and --ocpp-supply-phases 1 or 3")
        }
        configuration.ocppSupply = OCPPSupply(voltage: ocppSupplyVoltage, phases: ocppSupplyPhases)
        configuration.ocppLocalListSync = ocppLocalListSync
        configuration.corsOrigins = ServerConfiguration.corsOrigins(flags: corsOrigins, environment: environment)
        do {
            configuration.trustedProxies = try TrustedNetworks(
                trustedProxies.flatMap(TrustedNetworks.split) + TrustedNetworks.split(environment["CHARGEPILE_TRUSTED_PROXIES"] ?? ""))
            let metrics = metricsAllow.flatMap(TrustedNetworks.split) + TrustedNetworks.split(environment["CHARGEPILE_METRICS_ALLOW"] ?? "")
            if !metrics.isEmpty { configuration.metricsClients = try TrustedNetworks(metrics) }
        } catch let error as TrustedNetworksError {
            throw ValidationError("--trusted-proxy / --metrics-allow: \(error)")
        }
        configuration.proxyTLSHeaders = proxyTLSHeaders || environment["CHARGEPILE_PROXY_TLS_HEADERS"] == "1"
        if configuration.proxyTLSHeaders, configuration.trustedProxies.isEmpty {
            throw ValidationError("--proxy-tls-headers needs --trusted-proxy: the TLS headers are believed only from the proxies")
        }
        let caCertificate = ocppCACertificate ?? environment["CHARGEPILE_OCPP_CA_CERTIFICATE"].flatMap { $0.isEmpty ? nil : $0 }
        let caKey = ocppCAKey ?? environment["CHARGEPILE_OCPP_CA_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        switch (caCertificate, caKey) {
        case (nil, nil): break
        case (let certificate?, let key?):
            do {
                configuration.ocppCertificateAuthority = try ChargerCertificateAuthority.load(certificatePath: certificate, keyPath: key)
            } catch {
                throw ValidationError("--ocpp-ca-certificate / --ocpp-ca-key: \(error)")
            }
            logger.info("chargers' SignCertificate requests are signed", metadata: ["ca": "\(configuration.ocppCertificateAuthority!.subjectDescription)"])
        default:
            throw ValidationError("--ocpp-ca-certificate and --ocpp-ca-key go together")
        }
        configuration.tokenCheckInterval = .seconds(tokenCheckInterval)
        configuration.loginDefence.registrationsPerAddress = registerLimit
        configuration.loginDefence.accountFreeFailures = loginFreeFailures
        configuration.loginDefence.addressFreeFailures = loginFreeFailures * 10 / 3
        configuration.loginDefence.accountLockAt = max(configuration.loginDefence.accountLockAt, loginFreeFailures * 10 / 3)
        configuration.loginDefence.addressLockAt = max(configuration.loginDefence.addressLockAt, loginFreeFailures * 50 / 3)
        configuration.firstStart.adminUsername = environment["CHARGEPILE_ADMIN_USER"] ?? "admin"
        // An empty variable is no password (not an empty one for every pile).
        configuration.firstStart.adminPassword = environment["CHARGEPILE_ADMIN_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
        configuration.firstStart.pilePassword = environment["CHARGEPILE_PILE_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
        if let embedded = database.embedded {
            // On the embedded database the generated pile passwords go to a file of the data folder, not the
            // terminal: `chargepile sim` reads it, and an operator configuring a charger opens it.
            let file = PileSecretsFile.standard(environment: environment)
            configuration.firstStart.keepPileSecrets = { passwords in
                try file.write(passwords, comment: "written at the first start of the embedded database in \(embedded.dataDirectory)")
                return "pile passwords (a distinct one per pile): in \(file.path), readable only by you; "
                    + "`chargepile sim` reads them from there"
            }
        }
        if let clock {
            let start = try clockStart.map { text in
                guard let date = try? Date(text, strategy: .iso8601) else { throw ValidationError("--clock-start must be ISO-8601") }
                return date
            }
            configuration.clock = .init(mode: clock, speed: clockSpeed, start: start)
        }
        let drain = PileDrain()
        do {
            let app = try await buildApplication(configuration: configuration, databaseURL: database.url, logger: logger, drain: drain)
            let url = "http://\(configuration.host):\(configuration.port)"
            say("chargepile is serving on \(url)")
            say("  open \(url)/ in a browser for the admin console; admins log in there (or with POST \(url)/a/login) as "
                + "the admin printed at first start, or with CHARGEPILE_ADMIN_PASSWORD")
            // The drain runs after the app, so on SIGTERM/SIGINT it stops first: piles hear 1001 before the server closes.
            let group = ServiceGroup(configuration: .init(
                services: [.init(service: app), .init(service: drain)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        } catch {
            database.stop()
            throw error
        }
        database.stop()
        say("chargepile stopped" + (database.startedEmbedded ? "; the embedded PostgreSQL stopped too" : ""))
    }
}

extension StationClock.Mode: ExpressibleByArgument {}

/// A line for the operator on standard output, written at once (not buffered): it must be seen even if
/// the process dies right after.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

extension DatabaseLocation {
    /// Where the embedded database is and how a DBA reaches it.
    func announce() {
        guard let embedded else { return }
        if let notice { say(notice) }
        say("embedded PostgreSQL: data in \(embedded.dataDirectory)"
            + (startedEmbedded ? "" : " (already running: left running when this process stops)"))
        say("  for psql and other tools: DATABASE_URL='\(url)'")
    }
}

func makeLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
    return logger
}
