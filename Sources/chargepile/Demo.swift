import ArgumentParser
import ChargingServer
import EmbeddedPostgres
import Foundation
import Hummingbird
import Logging
import PileSimulator
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One command for a first look: a server on a fresh demo database, five simulated piles, and
/// the official case acted out by simulated drivers and an operator. The station clock is the
/// manual one, advanced to each event before it happens, so the replay is exact on any machine
/// at any speed, like the acceptance test.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay the official case on a manual station clock with simulated piles and drivers, printing the station.")

    @Option(help: "Port for the demo server.") var port = 8090
    @Option(help: "Real seconds to pause after each event, to follow along (or look at the server meanwhile).")
    var pause: Double = 0
    @Option(name: .customLong("protocol"), help: "The simulated piles' protocol: chargepile (/p/ws) or ocpp1.6 (charge points on /ocpp/<id>).")
    var pileProtocol: Simulate.PileProtocol = .chargepile
    @Option(
        name: .customLong("meter-interval"),
        help: "Real seconds between the piles' meter readings while charging. None by default: the station models energy and the replay is exact; real-time readings override the model, so the replay no longer follows the case.")
    var meterInterval: Double = 0
    @Flag(help: "Also print every frame the piles receive and send, as `sim` does.") var frames = false

    static let password = "demo-password"

    static let printFrame: @Sendable (Int, PileFrameDirection, String) -> Void = { pileID, direction, text in
        say(PileTranscript.line(pileID: pileID, direction: direction, text: text))
    }

    func run() async throws {
        guard pause >= 0, pause <= 60 else { throw ValidationError("--pause must be in [0, 60]") }
        guard meterInterval >= 0, meterInterval.isFinite else { throw ValidationError("--meter-interval must be ≥ 0") }
        let meterEvery: Duration? = meterInterval > 0 ? .seconds(meterInterval) : nil
        // The demo's output is the station; the server stays quiet (it is cancelled at the end).
        var logger = makeLogger("demo")
        logger.logLevel = .critical
        let database = try DatabaseLocation.resolve(database: "chargepile_demo_\(Int(Date().timeIntervalSince1970))")
        defer { database.stop() }
        var configuration = ServerConfiguration()
        configuration.port = port
        configuration.firstStart.adminPassword = Self.password
        configuration.firstStart.pilePassword = Self.password
        configuration.clock = .init(mode: .manual, start: OfficialCase.stationTime("05:55"))
        configuration.loginDefence.registrationsPerAddress = .max  // thirty drivers register from this one address
        let app = try await buildApplication(configuration: configuration, databaseURL: database.url, logger: logger)
        let baseURL = "http://127.0.0.1:\(port)"
        say("demo server on \(baseURL) (admin / \(Self.password)), manual station clock from 05:55"
            + (pileProtocol == .ocpp16 ? ", piles are OCPP 1.6J charge points on /ocpp/1…5" : ""))

        let logged = logger
        let cars = DemoCars()
        let onFrame = frames ? Self.printFrame : nil
        let client = DemoClient(baseURL: baseURL)
        // OCPP: turned on = Available after Boot; no MeterValues unless asked, so the server models energy. The
        // station bills meterStop − meterStart, and a meter cannot follow the manual clock's jumps: each
        // charger's meterStop is what the station modelled for the session (the car's bill, read by the demo).
        let chargers = OCPPChargerFleet(
            .init(baseURL: baseURL, pileIDs: Array(1...5), password: Self.password, fastPileIDs: Set(OfficialCase.fastPiles),
                  turnOn: true, reconnect: true, meterInterval: meterEvery,
                  sessionEnergy: { pileID, idTag in await cars.modelledEnergyWh(idTag: idTag, pileID: pileID, client: client) }),
            logger: logged, onFrame: onFrame)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            switch pileProtocol {
            case .chargepile:
                group.addTask {
                    let fleet = PileFleet(.init(baseURL: baseURL, pileIDs: Array(1...5), password: Self.password, turnOn: true,
                                                reconnect: true, meterInterval: meterEvery), logger: logged, onFrame: onFrame)
                    try await fleet.run()
                }
            case .ocpp16:
                group.addTask { try await chargers.run() }
            }
            group.addTask {
                try await DemoReplay(
                    client: client, pause: .seconds(pause), cars: pileProtocol == .ocpp16 ? cars : nil,
                    chargers: pileProtocol == .ocpp16 ? chargers.chargePoints : []
                ).run()
            }
            // The replay ends the demo; the server and the fleet are cancelled with it.
            try await group.next()
            group.cancelAll()
        }
    }
}

/// Simulated drivers and an operator acting out the official case over HTTP, one event at a
/// time: advance the manual clock to the event, apply it, show the station.
struct DemoReplay {
    let client: DemoClient
    let pause: Duration
    /// For OCPP chargers: learns each driver's idTag when the driver submits.
    var cars: DemoCars?
    /// OCPP chargers, which the replay lets catch up with the station after each step.
    var chargers: [SimulatedChargePoint] = []

    func run() async throws {
        try await client.waitUntilServing()
        let admin = try await client.call("/a/login", ["username": "admin", "password": Demo.password])["token"] as? String ?? ""
        try await waitUntilPilesAreOn(admin: admin)
        var drivers: [String: String] = [:]
        for number in 1...30 {
            let name = "V\(number)"
            _ = try await client.call("/u/register", ["username": name, "password": Demo.password, "battery_capacity": "200"])
            drivers[name] = try await client.call("/u/login", ["username": name, "password": Demo.password])["token"] as? String
        }

        for event in OfficialCase.events {
            let time = OfficialCase.stationTime(event.time)
            try await advance(to: time, admin: admin)
            say("\n\(StationTime.text(time))  \(try await apply(event.action, admin: admin, drivers: drivers))")
            try await printStation(at: time, admin: admin)
            if let published = OfficialCase.expectations.first(where: { $0.time == event.time }) {
                say(published.text(at: time))
            }
            if pause > .zero { try await Task.sleep(for: pause) }
        }

        // Then the queues drain: the station every station hour until the last car has left.
        var time = OfficialCase.stationTime(OfficialCase.events.last!.time)
        while try await !stationIsEmpty(admin: admin) {
            time = Calendar.station.dateInterval(of: .hour, for: time)!.end
            try await advance(to: time, admin: admin)
            say("")
            try await printStation(at: time, admin: admin)
        }

        let published = OfficialCase.stationTime(OfficialCase.lastCompletion.time, dayOffset: OfficialCase.lastCompletion.dayOffset)
        let lastFinish = try await lastFinish(drivers: drivers)
        say("")
        say("\(StationTime.text(time))  all cars served; the last finished at \(lastFinish.map(StationTime.text) ?? "-")"
            + "   published: \(StationTime.text(published))  \(lastFinish == published ? "same" : "DIFFERENT")")
        let piles = try await client.call("/admin/charge/status/get", ["token": admin], method: "GET")["data"] as? [[String: Any]] ?? []
        for pile in piles {
            say("\(StationTime.text(time))  pile \(pile["charging_station_id"] ?? "?") totals: \(pile["total_charging_times"] ?? 0) sessions, "
                + "\(pile["total_charging_power"] ?? 0) kWh, \(pile["total_charging_duration"] ?? 0) s")
        }
    }

    private func apply(_ action: OfficialCase.Action, admin: String, drivers: [String: String]) async throws -> String {
        switch action {
        case .submit(let driver, let mode, let kWh):
            let reply = try await client.call("/user/charge/request", ["token": drivers[driver]!, "mode": mode, "request_quantity": "\(kWh)"])
            if let cars, reply["code"] as? Int == 200 {
                let view = try await client.call("/user/charge/request", ["token": drivers[driver]!], method: "GET")
                if let idTag = (view["data"] as? [String: Any])?["id_tag"] as? String {
                    await cars.record(idTag: idTag, driver: driver, token: drivers[driver]!)
                }
            }
            return describe(reply, "\(driver) requests \(kWh) kWh (\(mode))")
        case .leave(let driver):
            return describe(try await client.call("/user/charge/request/cancel", ["token": drivers[driver]!]), "\(driver) leaves")
        case .pileFails(let pileID):
            return describe(try await client.call("/admin/charge/status/set", ["token": admin, "id": "\(pileID)", "status": "repair"]),
                     "pile \(pileID) fails")
        case .pileRecovers(let pileID):
            return describe(try await client.call("/admin/charge/status/set", ["token": admin, "id": "\(pileID)", "status": "on"]),
                     "pile \(pileID) is back")
        case .changeAmount(let driver, let kWh):
            return describe(try await client.call("/user/charge/request/modify", ["token": drivers[driver]!, "request_quantity": "\(kWh)"]),
                     "\(driver) changes to \(kWh) kWh")
        }
    }

    private func describe(_ reply: [String: Any], _ what: String) -> String {
        reply["code"] as? Int == 200 ? what : "\(what): refused (\(reply["msg"] as? String ?? "?"))"
    }

    private func advance(to time: Date, admin: String) async throws {
        try await letChargersCatchUp(admin: admin)
        let reply = try await client.call("/admin/clock/advance", ["token": admin, "to": StationTime.iso8601(time)])
        guard reply["code"] as? Int == 200 else { throw ValidationError("cannot advance the clock: \(reply)") }
        try await letChargersCatchUp(admin: admin)
    }

    /// OCPP chargers answer the station's RemoteStart/StopTransaction a little later than the station decides:
    /// before the clock moves on, every charger's transaction matches the car the station charges on its pile
    /// (started and answered for that car's idTag, or none) and none waits for an answer. Otherwise a
    /// StartTransaction could arrive after the station time at which that car's session already ended.
    private func letChargersCatchUp(admin: String) async throws {
        guard let cars, !chargers.isEmpty else { return }
        for _ in 0..<500 {
            var settled = true
            for charger in chargers where settled {
                let queue = try await client.call("/admin/charge/queue", ["token": admin, "id": "\(charger.configuration.pileID)"], method: "GET")
                let charging = (queue["data"] as? [[String: Any]] ?? []).first { $0["state"] as? String == "charging" }
                let expected = await (charging?["user_id"] as? String).asyncMap { await cars.idTag(driver: $0) }
                let transaction = charger.transaction
                settled = !charger.isAwaitingAnswer && (expected == nil
                    ? transaction == nil
                    : transaction?.transactionID != nil && transaction?.idTag == expected)
            }
            if settled { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        say("(the OCPP chargers did not catch up with the station within 5 s; going on)")
    }

    private func printStation(at time: Date, admin: String) async throws {
        let prefix = StationTime.text(time)
        for pileID in 1...5 {
            let cars = try await client.call("/admin/charge/queue", ["token": admin, "id": "\(pileID)"], method: "GET")["data"] as? [[String: Any]] ?? []
            let shown = cars.map { car -> String in
                let name = car["user_id"] as? String ?? "?"
                guard car["state"] as? String == "charging" else { return name }
                return "\(name) charging \(Self.decimals(car["charged_kwh"])) kWh ¥\(Self.decimals(car["fee"]))"
            }
            say("\(prefix)    pile \(pileID): \(shown.isEmpty ? "-" : shown.joined(separator: " | "))")
        }
        let waiting = try await client.call("/admin/charge/waiting", ["token": admin], method: "GET")["data"] as? [[String: Any]] ?? []
        let shown = waiting.map {
            "\($0["user_id"] ?? "?")(\($0["mode"] ?? "?"),\(Self.decimals($0["request_quantity"])))\($0["state"] as? String == "displaced" ? "*" : "")"
        }
        say("\(prefix)    waiting: \(shown.isEmpty ? "-" : shown.joined(separator: " "))")
    }

    static func decimals(_ value: Any?) -> String { String(format: "%.2f", (value as? Double) ?? Double((value as? Int) ?? 0)) }

    private func stationIsEmpty(admin: String) async throws -> Bool {
        for pileID in 1...5 {
            let cars = try await client.call("/admin/charge/queue", ["token": admin, "id": "\(pileID)"], method: "GET")["data"] as? [Any] ?? []
            if !cars.isEmpty { return false }
        }
        let waiting = try await client.call("/admin/charge/waiting", ["token": admin], method: "GET")["data"] as? [Any] ?? []
        return waiting.isEmpty
    }

    /// The latest end of any driver's detail records.
    private func lastFinish(drivers: [String: String]) async throws -> Date? {
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var last: Date?
        for token in drivers.values {
            let bills = try await client.call("/user/charge/bills", ["token": token], method: "GET")["data"] as? [[String: Any]] ?? []
            for bill in bills {
                guard let text = bill["finished_at"] as? String, let finished = parser.date(from: text) else { continue }
                last = max(last ?? finished, finished)
            }
        }
        return last
    }

    private func waitUntilPilesAreOn(admin: String) async throws {
        for _ in 0..<300 {
            let piles = try await client.call("/admin/charge/status/get", ["token": admin], method: "GET")["data"] as? [[String: Any]] ?? []
            if piles.count == 5, piles.allSatisfy({ $0["status"] as? String == "on" }) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ValidationError("the simulated piles did not come on within 30 s")
    }
}

/// The demo's drivers by OCPP idTag, so that a simulated charger's meter can agree with the station's model.
actor DemoCars {
    private var tokens: [String: String] = [:]
    private var idTags: [String: String] = [:]

    func record(idTag: String, driver: String, token: String) {
        tokens[idTag] = token
        idTags[driver] = idTag
    }

    func idTag(driver: String) -> String? {
        idTags[driver]
    }

    /// The energy of the car's newest bill, in Wh, when it is for this pile: the station writes the bill in the
    /// transaction that stops the session, before RemoteStopTransaction reaches the charger.
    func modelledEnergyWh(idTag: String, pileID: Int, client: DemoClient) async -> Int? {
        guard let token = tokens[idTag],
              let reply = try? await client.call("/user/charge/bills", ["token": token], method: "GET"),
              let bill = (reply["data"] as? [[String: Any]])?.first, bill["pile_id"] as? Int == pileID
        else { return nil }
        let kWh = (bill["energy_kwh"] as? Double) ?? Double((bill["energy_kwh"] as? Int) ?? 0)
        return Int((kWh * 1000).rounded())
    }
}

/// Station time as the demo prints it: `HH:mm` in the station's zone, `+1` on the next day.
enum StationTime {
    static func text(_ date: Date) -> String {
        let calendar = Calendar.station
        let parts = calendar.dateComponents([.hour, .minute], from: date)
        let days = calendar.dateComponents([.day], from: calendar.startOfDay(for: OfficialCase.stationTime("00:00")),
                                           to: calendar.startOfDay(for: date)).day ?? 0
        return String(format: "%02d:%02d", parts.hour ?? 0, parts.minute ?? 0) + (days > 0 ? "+\(days)" : "  ")
    }

    static func iso8601(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: OfficialCase.timeZoneIdentifier)
        return formatter.string(from: date)
    }
}

extension Calendar {
    static var station: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: OfficialCase.timeZoneIdentifier)!
        return calendar
    }
}

extension OfficialCase.Expectation {
    /// The published cells, in the demo's own format, for comparison with the lines above.
    func text(at time: Date) -> String {
        var parts: [String] = []
        if let piles {
            parts.append(piles.map { "pile \($0.pileID): \($0.driver) \(Self.decimals($0.chargedKWh)) kWh ¥\(Self.decimals($0.fee))" }
                .joined(separator: ", "))
        }
        if let waiting {
            parts.append("waiting: " + waiting.map { "\($0.driver)(\($0.mode),\(Self.decimals($0.kWh)))" }.joined(separator: " "))
        }
        return "\(StationTime.text(time))    published: " + parts.joined(separator: "; ")
    }

    private static func decimals(_ value: Decimal) -> String { String(format: "%.2f", NSDecimalNumber(decimal: value).doubleValue) }
}

/// Form-encoded calls to the demo server, JSON answers.
struct DemoClient {
    let baseURL: String

    func waitUntilServing() async throws {
        for _ in 0..<100 {
            if (try? await call("/healthz", [:], method: "GET", json: false)) != nil { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ValidationError("the demo server did not start")
    }

    func call(_ path: String, _ parameters: [String: String], method: String = "POST", json: Bool = true) async throws -> [String: Any] {
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

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async -> T?) async -> T? {
        guard let self else { return nil }
        return await transform(self)
    }
}
