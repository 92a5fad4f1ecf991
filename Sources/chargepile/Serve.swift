import ArgumentParser
import ChargingServer
import ChargingStore
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
    @Option(name: .customLong("idle-timeout"), help: "Seconds an HTTP connection may wait for its next request.")
    var idleTimeout: Double = 75
    @Option(name: .customLong("cors-origin"), help: "An origin whose browsers may call the API (repeatable; * for any; also CHARGEPILE_CORS_ORIGINS).")
    var corsOrigins: [String] = []

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let logger = makeLogger("chargepile")
        let database = try DatabaseLocation.resolve()
        defer { database.stop() }

        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port ?? environment["PORT"].flatMap(Int.init) ?? 8080
        configuration.commandTimeout = .milliseconds(Int64(commandTimeout * 1000))
        configuration.pingInterval = .milliseconds(Int64(pingInterval * 1000))
        configuration.offlineGrace = .milliseconds(Int64(offlineGrace * 1000))
        configuration.idleTimeout = .milliseconds(Int64(idleTimeout * 1000))
        configuration.corsOrigins = ServerConfiguration.corsOrigins(flags: corsOrigins, environment: environment)
        configuration.firstStart.adminUsername = environment["CHARGEPILE_ADMIN_USER"] ?? "admin"
        configuration.firstStart.adminPassword = environment["CHARGEPILE_ADMIN_PASSWORD"]
        configuration.firstStart.pilePassword = environment["CHARGEPILE_PILE_PASSWORD"]
        if let clock {
            let start = try clockStart.map { text in
                guard let date = try? Date(text, strategy: .iso8601) else { throw ValidationError("--clock-start must be ISO-8601") }
                return date
            }
            configuration.clock = .init(mode: clock, speed: clockSpeed, start: start)
        }
        let drain = PileDrain()
        let app = try await buildApplication(configuration: configuration, databaseURL: database.url, logger: logger, drain: drain)
        logger.info("chargepile listening", metadata: ["address": "http://\(configuration.host):\(configuration.port)"])
        // The drain runs after the app, so on SIGTERM/SIGINT it stops first: piles hear 1001 before the server closes.
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: app), .init(service: drain)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

extension StationClock.Mode: ExpressibleByArgument {}

func makeLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
    return logger
}
