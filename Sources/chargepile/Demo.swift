import ArgumentParser
import ChargingServer
import ChargingStore
import EmbeddedPostgres
import Foundation
import Hummingbird
import Logging
import PileSimulator
import PostgresClient
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One command for a first look: a server on a fresh demo database with a scaled clock,
/// five simulated piles, and the official case replayed by simulated drivers, printing the
/// station as queues move, faults reschedule and bills appear.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay the official case on a scaled clock with simulated piles and drivers, printing the station.")

    @Option(help: "Port for the demo server.") var port = 8090
    @Option(help: "Station seconds per real second (300: the 20-hour case in about 4 minutes).") var speed: Double = 300

    static let password = "demo-password"

    func run() async throws {
        guard speed > 0, speed <= 3600 else { throw ValidationError("--speed must be in (0, 3600]") }
        // The demo's output is the station; the server stays quiet (it is cancelled at the end).
        let logger = {
            var logger = makeLogger("demo")
            logger.logLevel = .critical
            return logger
        }()
        let databaseURL = try Self.freshDatabase()
        var configuration = ServerConfiguration()
        configuration.port = port
        configuration.firstStart.adminPassword = Self.password
        configuration.firstStart.pilePassword = Self.password
        configuration.clock = .init(mode: .scaled, speed: speed, start: OfficialCase.stationTime("05:58"))
        configuration.tickInterval = .milliseconds(100)
        let app = try await buildApplication(configuration: configuration, databaseURL: databaseURL, logger: logger)
        let baseURL = "http://127.0.0.1:\(port)"
        print("demo server on \(baseURL) (admin / \(Self.password)), station clock ×\(speed) from 05:58")

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            group.addTask {
                let fleet = PileFleet(.init(baseURL: baseURL, pileIDs: Array(1...5), password: Self.password, turnOn: true,
                                            reconnect: true), logger: logger)
                try await fleet.run()
            }
            group.addTask {
                try await DemoReplay(baseURL: baseURL, speed: speed).run()
            }
            // The replay ends the demo; the server and the fleet are cancelled with it.
            try await group.next()
            group.cancelAll()
        }
    }

    /// A `chargepile_demo` database on the embedded server (or DATABASE_URL's), new each run.
    static func freshDatabase() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let url = environment["DATABASE_URL"], !url.isEmpty { return url }
        let root = environment["CHARGEPILE_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? ".chargepile"
        let embedded = EmbeddedPostgres(dataDirectory: URL(fileURLWithPath: root).appendingPathComponent("postgres").standardizedFileURL.path)
        _ = try embedded.start()
        let name = "chargepile_demo_\(Int(Date().timeIntervalSince1970))"
        try embedded.createDatabaseIfMissing(name)
        return embedded.conninfo(database: name)
    }
}

/// Simulated drivers and an operator acting out the official case over HTTP.
struct DemoReplay {
    let baseURL: String
    let speed: Double

    func run() async throws {
        try await waitUntilServing()
        let admin = try await call("/a/login", ["username": "admin", "password": Demo.password])["token"] as? String ?? ""
        var drivers: [String: String] = [:]
        for number in 1...30 {
            let name = "V\(number)"
            _ = try await call("/u/register", ["username": name, "password": Demo.password, "battery_capacity": "200"])
            drivers[name] = try await call("/u/login", ["username": name, "password": Demo.password])["token"] as? String
        }
        for event in OfficialCase.events {
            try await sleep(untilStation: OfficialCase.stationTime(event.time), admin: admin)
            let outcome: String
            switch event.action {
            case .submit(let driver, let mode, let kWh):
                outcome = describe(try await call("/user/charge/request", ["token": drivers[driver]!, "mode": mode, "request_quantity": "\(kWh)"]),
                                   "\(driver) requests \(kWh) kWh (\(mode))")
            case .leave(let driver):
                outcome = describe(try await call("/user/charge/request/cancel", ["token": drivers[driver]!]), "\(driver) leaves")
            case .pileFails(let pileID):
                outcome = describe(try await call("/admin/charge/status/set", ["token": admin, "id": "\(pileID)", "status": "repair"]),
                                   "pile \(pileID) fails")
            case .pileRecovers(let pileID):
                outcome = describe(try await call("/admin/charge/status/set", ["token": admin, "id": "\(pileID)", "status": "on"]),
                                   "pile \(pileID) is back")
            case .changeAmount(let driver, let kWh):
                outcome = describe(try await call("/user/charge/request/modify", ["token": drivers[driver]!, "request_quantity": "\(kWh)"]),
                                   "\(driver) changes to \(kWh) kWh")
            }
            print("\n\(event.time)  \(outcome)")
            try await printStation(admin: admin)
        }
        // Let the queues drain, showing the station every station hour.
        while try await !stationIsEmpty(admin: admin) {
            try await Task.sleep(for: .seconds(3600 / speed))
            let clock = try await call("/admin/clock", ["token": admin], method: "GET")
            print("\n\(((clock["data"] as? [String: Any])?["now"] as? String) ?? "")")
            try await printStation(admin: admin)
        }
        print("\nall cars served. Totals:")
        let piles = try await call("/admin/charge/status/get", ["token": admin], method: "GET")["data"] as? [[String: Any]] ?? []
        for pile in piles {
            print("  pile \(pile["charging_station_id"] ?? "?"): \(pile["total_charging_times"] ?? 0) sessions, "
                  + "\(pile["total_charging_power"] ?? 0) kWh, \(pile["total_charging_duration"] ?? 0) s")
        }
    }

    private func describe(_ reply: [String: Any], _ what: String) -> String {
        reply["code"] as? Int == 200 ? what : "\(what): refused (\(reply["msg"] as? String ?? "?"))"
    }

    private func printStation(admin: String) async throws {
        for pileID in 1...5 {
            let cars = try await call("/admin/charge/queue", ["token": admin, "id": "\(pileID)"], method: "GET")["data"] as? [[String: Any]] ?? []
            let shown = cars.map { car -> String in
                let name = car["user_id"] as? String ?? "?"
                if car["state"] as? String == "charging" {
                    return "\(name) charging \(car["charged_kwh"] ?? 0) kWh ¥\(car["fee"] ?? 0)"
                }
                return name
            }
            print("  pile \(pileID): \(shown.isEmpty ? "-" : shown.joined(separator: " | "))")
        }
        let waiting = try await call("/admin/charge/waiting", ["token": admin], method: "GET")["data"] as? [[String: Any]] ?? []
        let shown = waiting.map { "\($0["user_id"] ?? "?")(\($0["mode"] ?? "?"),\($0["request_quantity"] ?? 0))\($0["state"] as? String == "displaced" ? "*" : "")" }
        print("  waiting: \(shown.isEmpty ? "-" : shown.joined(separator: " "))")
    }

    private func stationIsEmpty(admin: String) async throws -> Bool {
        for pileID in 1...5 {
            let cars = try await call("/admin/charge/queue", ["token": admin, "id": "\(pileID)"], method: "GET")["data"] as? [Any] ?? []
            if !cars.isEmpty { return false }
        }
        return true
    }

    private func sleep(untilStation target: Date, admin: String) async throws {
        let clock = try await call("/admin/clock", ["token": admin], method: "GET")
        guard let text = (clock["data"] as? [String: Any])?["now"] as? String,
              let now = ISO8601DateFormatter.withFractions.date(from: text) else { return }
        let wait = target.timeIntervalSince(now) / speed
        if wait > 0 { try await Task.sleep(for: .milliseconds(Int64(wait * 1000))) }
    }

    private func waitUntilServing() async throws {
        for _ in 0..<100 {
            if (try? await call("/healthz", [:], method: "GET", json: false)) != nil { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ValidationError("the demo server did not start")
    }

    private func call(_ path: String, _ parameters: [String: String], method: String = "POST", json: Bool = true) async throws -> [String: Any] {
        let query = parameters.sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0.value)" }
            .joined(separator: "&")
        var request = URLRequest(url: URL(string: baseURL + path + (method == "GET" && !query.isEmpty ? "?" + query : ""))!)
        request.httpMethod = method
        if method == "POST" {
            request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(query.utf8)
        }
        let (data, _) = try await URLSession.shared.data(for: request)
        guard json else { return [:] }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }
}

extension ISO8601DateFormatter {
    static var withFractions: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
