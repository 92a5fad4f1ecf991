import ArgumentParser
import ChargingDomain
import Foundation
import LocalCluster
import Logging
import PileProtocol
import PileSimulator
import PostgresClient
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Site load management (issue 17): the engine's cost of reallocating many stations, and a live station of
/// 20 simulated chargers behind a limit of a third of their power, on two instances.
struct BenchLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Load management: reallocation CPU for many stations, and a live 20-charger station behind a limit.",
        discussion: """
            1. Engine only: \(pilesPerStation)-pile stations, every pile busy, behind a third of their power; each \
            station gets a new limit (a full reallocation with its reductions) and every charger acknowledges; \
            the CPU time of those steps against the same steps on the same stations without a limit.
            2. Live: two `chargepile serve` children on a scratch database, the default station grown to \
            \(pilesPerStation) piles (`chargepile pile add`) behind a third of their power (`chargepile station set`), \
            simulated piles of both protocols (half OCPP 1.6J charge points, half our protocol) split over both \
            instances, drivers arriving and leaving. Checked at every frame a pile receives: the sum of the limits \
            in force at the piles whose car charges (`set_power`, or SetChargingProfile); after each arrival or \
            departure: the time until every charger acknowledged its new limit; sampled: the share of the limit \
            allocated while demand exceeds it.
            """)

    static let pilesPerStation = 20
    static let password = "bench-password"
    /// Piles 1–2 and 6–10 fast (30 kW), 3–5 and 11–20 slow (10 kW): 340 kW.
    static let fastPiles: Set<Int> = [1, 2, 6, 7, 8, 9, 10]
    /// Piles 2, 3, 6, 7, … (fast and slow, on both instances) are OCPP 1.6J charge points; the others speak our protocol.
    static func isOCPP(_ pileID: Int) -> Bool { pileID % 4 == 2 || pileID % 4 == 3 }

    @Option(help: "Stations reallocated in the engine-only part.") var stations = 1_000
    @Option(help: "Seconds of the live part (station time runs in real time).") var seconds = 120
    @Option(help: "Milliseconds between arrivals or departures in the live part.") var interval = 1_500
    @Option(help: "Cars the live part keeps at the station (at piles and waiting).") var cars = 30
    @OptionGroup var server: BenchServerOptions

    func validate() throws {
        guard stations > 0, seconds > 0, interval >= 100, (1...70).contains(cars) else {
            throw ValidationError("--stations and --seconds positive, --interval ≥ 100 ms, --cars 1…70")
        }
    }

    func run() async throws {
        try engineOnly()
        try await live()
    }

    // MARK: engine only

    private func engineOnly() throws {
        let limited = Self.busyStation(limited: true)
        let unlimited = Self.busyStation(limited: false)
        let limit = limited.settings.powerLimitWatts!
        func reallocate(_ template: Station, newLimit: Int64?) -> (cpu: Duration, steps: Int, sent: Int) {
            var copies = Array(repeating: template, count: stations)
            var steps = 0
            var sent = 0
            let start = Self.cpuTime()
            for index in copies.indices {
                let time = copies[index].now
                var limits = (try? copies[index].apply(.setPowerLimit(watts: newLimit), at: time))?.limitsSent ?? []
                steps += 1
                while !limits.isEmpty {
                    sent += limits.count
                    var next: [StationEffect.LimitSent] = []
                    for limit in limits {
                        next += (try? copies[index].apply(limit.acknowledgement, at: time))?.limitsSent ?? []
                        steps += 1
                    }
                    limits = next
                }
            }
            return (Self.cpuTime() - start, steps, sent)
        }
        let measured = reallocate(limited, newLimit: limit * 9 / 10)
        let reference = reallocate(unlimited, newLimit: nil)
        print("""
            Engine only: \(stations) stations × \(Self.pilesPerStation) piles, every pile charging, limit \(limit / 1_000) kW → \(limit * 9 / 10 / 1_000) kW
            side                                   | CPU ms | engine steps | limits sent
            reallocation + every acknowledgement   | \(String(format: "%.1f", measured.cpu.inMilliseconds)) | \(measured.steps) | \(measured.sent)
            reference: the same step without limit | \(String(format: "%.1f", reference.cpu.inMilliseconds)) | \(reference.steps) | \(reference.sent)

            """)
    }

    /// 20 piles, every one charging a car, its charger having acknowledged its share.
    static func busyStation(limited: Bool) -> Station {
        let piles = (1...pilesPerStation).map { id in
            PileSpec(id: id, mode: fastPiles.contains(id) ? .fast : .slow, powerWatts: fastPiles.contains(id) ? 30_000 : 10_000)
        }
        var settings = StationSettings.standard
        settings.piles = piles
        let total = piles.map(\.powerWatts).reduce(0, +)
        if limited { settings.powerLimitWatts = total / 3 }
        var station = Station(settings: settings, now: 1_700_000_000_000)
        let now = station.now
        for pile in piles { _ = try? station.apply(.setPileStatus(pileID: pile.id, status: .on), at: now) }
        var sent: [StationEffect.LimitSent] = []
        for (index, pile) in piles.enumerated() {
            sent += (try? station.apply(.submit(driver: "d\(index)", mode: pile.mode, requestedKWh: 50, batteryCapacityKWh: 100), at: now))?.limitsSent ?? []
        }
        while !sent.isEmpty {
            var next: [StationEffect.LimitSent] = []
            for limit in sent { next += (try? station.apply(limit.acknowledgement, at: now))?.limitsSent ?? [] }
            sent = next
        }
        return station
    }

    static func cpuTime() -> Duration {
        var spec = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
        return .seconds(Int64(spec.tv_sec)) + .nanoseconds(Int64(spec.tv_nsec))
    }

    // MARK: live

    private func live() async throws {
        let database = try await BenchScratchDatabase.recreate("chargepile_bench_load", serverURL: server.databaseURL)
        defer { database.stop() }
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("chargepile-bench-load-\(getpid())")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let environment = ["CHARGEPILE_ADMIN_PASSWORD": Self.password, "CHARGEPILE_PILE_PASSWORD": Self.password]
        let arguments = ["--register-limit", "1000"]
        let first = try await ServeProcess.start(name: "instance-a", databaseURL: database.conninfo, environment: environment,
                                                 logDirectory: logs, arguments: arguments, prefix: server.serverPrefix)
        defer { first.stop() }
        try Self.runCLI(["pile", "add", "6", "--kind", "F", "--count", "5"], databaseURL: database.conninfo)
        try Self.runCLI(["pile", "add", "11", "--kind", "T", "--count", "10"], databaseURL: database.conninfo)
        let totalWatts = Int64(Self.fastPiles.count) * 30_000 + Int64(Self.pilesPerStation - Self.fastPiles.count) * 10_000
        let limitWatts = totalWatts / 3
        try Self.runCLI(["station", "set", "1", "--power-limit", String(Double(limitWatts) / 1_000)], databaseURL: database.conninfo)
        let second = try await ServeProcess.start(name: "instance-b", databaseURL: database.conninfo, environment: environment,
                                                  logDirectory: logs, arguments: arguments, prefix: server.serverPrefix)
        defer { second.stop() }

        let recorder = DrawRecorder(limitWatts: limitWatts, fastPiles: Self.fastPiles)
        var logger = Logger(label: "bench.piles")
        logger.logLevel = .error
        var fleetTasks: [Task<Void, Never>] = []
        for (index, instance) in [first, second].enumerated() {
            let piles = (1...Self.pilesPerStation).filter { $0 % 2 == index }
            let ours = PileFleet(.init(baseURL: "http://127.0.0.1:\(instance.port)", pileIDs: piles.filter { !Self.isOCPP($0) },
                                       password: Self.password, turnOn: true),
                                 logger: logger) { pileID, direction, text in
                if direction == .received { recorder.received(text, pile: pileID) }
            }
            let ocpp = OCPPChargerFleet(.init(baseURL: "http://127.0.0.1:\(instance.port)", pileIDs: piles.filter(Self.isOCPP),
                                              password: Self.password, fastPileIDs: Self.fastPiles, turnOn: true),
                                        logger: logger) { pileID, direction, text in
                if direction == .received { recorder.receivedOCPP(text, pile: pileID) }
            }
            fleetTasks += [Task { try? await ours.run() }, Task { try? await ocpp.run() }]
        }
        defer { for task in fleetTasks { task.cancel() } }
        let pool = PostgresPool(conninfo: database.conninfo, maxConnections: 2, acquireTimeout: .seconds(10))
        do {
            try await waitForPilesOn(pool)
            let result = try await drive(ports: [first.port, second.port], pool: pool, limitWatts: limitWatts)
            await pool.close()
            let draw = recorder.summary
            print("""
                Live: \(Self.pilesPerStation) piles (\(totalWatts / 1_000) kW), \((1...Self.pilesPerStation).filter(Self.isOCPP).count) of them OCPP 1.6J, the others our protocol, on 2 instances, limit \(String(format: "%.1f", Double(limitWatts) / 1_000)) kW, \(seconds) s, an arrival or departure every \(interval) ms, about \(cars) cars
                frames received by the piles: \(draw.frames) (SetChargingProfile \(draw.chargingProfiles), set_power \(draw.setPowers)); the most the charging cars could draw at once: \(String(format: "%.1f", Double(draw.maximumWatts) / 1_000)) kW (limit exceeded after \(draw.violations) frames)
                arrivals and departures: \(result.settle.count), refused (waiting area full) \(result.refused); until every charger acknowledged its new limit, ms: p50 \(BenchLatencies.format(result.settle.p50)) | p90 \(BenchLatencies.format(result.settle.p90)) | p99 \(BenchLatencies.format(result.settle.p99)) | max \(BenchLatencies.format(result.settle.max))
                while demand exceeded the limit (\(result.overDemand) of \(result.samples) samples): allocated ≥ 95 % of the limit in \(String(format: "%.1f", result.wellAllocatedShare * 100)) % of them, mean \(String(format: "%.1f", result.meanAllocatedShare * 100)) % of the limit
                """)
        } catch {
            await pool.close()
            throw error
        }
    }

    private struct LiveResult {
        var settle = BenchLatencies()
        var refused = 0
        var samples = 0
        var overDemand = 0
        var wellAllocated = 0
        var allocatedShares: Double = 0
        var wellAllocatedShare: Double { overDemand == 0 ? .nan : Double(wellAllocated) / Double(overDemand) }
        var meanAllocatedShare: Double { overDemand == 0 ? .nan : allocatedShares / Double(overDemand) }
    }

    /// Arrivals and departures one at a time: each is timed until the station's limits have settled (no limit
    /// sent and unanswered), then the allocation is sampled until the next one.
    private func drive(ports: [Int], pool: PostgresPool, limitWatts: Int64) async throws -> LiveResult {
        let drivers = max(cars * 2, 40)
        let tokens = try await (0..<drivers).asyncMap { index in try await Self.driverToken(index, port: ports[index % 2]) }
        var generator = SystemRandomNumberGenerator()
        var active: [Int] = []
        var idle = Array(0..<drivers)
        var result = LiveResult()
        let end = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < end {
            let next = ContinuousClock.now + .milliseconds(interval)
            let leave = !active.isEmpty && (active.count >= cars || Double.random(in: 0..<1, using: &generator) < 0.3)
            let driver = leave ? active.remove(at: Int.random(in: 0..<active.count, using: &generator))
                : idle.remove(at: Int.random(in: 0..<idle.count, using: &generator))
            let started = ContinuousClock.now
            let token = tokens[driver]
            let port = ports[driver % 2]
            let reply = try await BenchThreads.blocking {
                let client = BenchHTTPClient(port: port)
                return leave ? try client.post("/user/charge/request/cancel", form: [("token", token)])
                    : try client.post("/user/charge/request", form: [
                        ("token", token), ("mode", Int.random(in: 0..<20) < 7 ? "F" : "T"), ("request_quantity", "50")])
            }
            if leave {
                idle.append(driver)
            } else if reply.json?["code"] as? Int == 200 {
                active.append(driver)
            } else {
                idle.append(driver)
                result.refused += 1
            }
            try await waitUntilSettled(pool, deadline: started + .seconds(30))
            result.settle.append(ContinuousClock.now - started)
            while ContinuousClock.now < next {
                let (allocated, demand) = try await allocation(pool)
                result.samples += 1
                if demand > limitWatts {
                    result.overDemand += 1
                    result.allocatedShares += Double(allocated) / Double(limitWatts)
                    if allocated * 100 >= limitWatts * 95 { result.wellAllocated += 1 }
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        return result
    }

    /// No power limit sent and unanswered: neither a pending `setPower` row nor a pile whose engine waits for an answer.
    private func waitUntilSettled(_ pool: PostgresPool, deadline: ContinuousClock.Instant) async throws {
        while true {
            let pending: Int = try await pool.query("""
                SELECT (SELECT count(*) FROM pile_commands WHERE state = 'pending' AND instruction ? 'setPower')
                     + (SELECT count(*) FROM piles WHERE station_id = 1 AND engine_state->'power'->>'pending_w' IS NOT NULL) AS n
                """).first!.decode("n")
            if pending == 0 { return }
            guard ContinuousClock.now < deadline else { throw BenchFailure("the limits did not settle within 30 s") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// The power allocated to the cars charging, and the demand: the power of every working pile with a car at its head.
    private func allocation(_ pool: PostgresPool) async throws -> (allocated: Int64, demand: Int64) {
        let row = try await pool.query("""
            SELECT coalesce(sum(CASE WHEN jsonb_typeof(engine_state->'session') = 'object'
                                     THEN coalesce((engine_state->'session'->>'power_w')::bigint, (engine_state->'pile'->>'power_w')::bigint) END), 0)::bigint AS allocated,
                   coalesce(sum(CASE WHEN engine_state->>'status' = 'on' AND jsonb_array_length(engine_state->'queue') > 0
                                     THEN (engine_state->'pile'->>'power_w')::bigint END), 0)::bigint AS demand
            FROM piles WHERE station_id = 1
            """).first!
        return (try row.decode("allocated"), try row.decode("demand"))
    }

    private func waitForPilesOn(_ pool: PostgresPool) async throws {
        for _ in 0..<600 {
            let on: Int = try await pool.query("SELECT count(*) AS n FROM piles WHERE status = 'on'").first!.decode("n")
            if on == Self.pilesPerStation { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchFailure("the simulated piles did not come on")
    }

    private static func driverToken(_ index: Int, port: Int) async throws -> String {
        try await BenchThreads.blocking {
            let client = BenchHTTPClient(port: port)
            let name = "load-driver-\(index)"
            _ = try client.post("/u/register", form: [("username", name), ("password", password), ("battery_capacity", "100")])
            guard let token = try client.post("/u/login", form: [("username", name), ("password", password)]).json?["token"] as? String else {
                throw BenchFailure("driver login failed")
            }
            return token
        }
    }

    /// Runs the `chargepile` next to this executable with `arguments` on the database, and waits for it.
    static func runCLI(_ arguments: [String], databaseURL: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServeProcess.binary)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = databaseURL
        environment["CHARGEPILE_PASSWORD"] = password
        environment["LOG_LEVEL"] = "warning"
        process.environment = environment
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchFailure("chargepile \(arguments.joined(separator: " ")) failed") }
    }
}

/// What the piles were told, checked at every frame a pile receives: a pile draws from its `start_charging` to
/// its `stop_charging`, at most its power and, once it received one, its last `set_power`. Frames are recorded
/// before the pile acknowledges them, so the server's reaction to an `ack` is always recorded after it.
final class DrawRecorder: Sendable {
    struct Summary {
        var frames = 0
        var setPowers = 0
        var chargingProfiles = 0
        var maximumWatts: Int64 = 0
        var violations = 0
    }

    private struct PileState {
        var charging = false
        var limitWatts: Int64?
    }

    private let limitWatts: Int64
    private let powers: [Int: Int64]
    private let state = Mutex<(piles: [Int: PileState], summary: Summary)>(([:], Summary()))

    init(limitWatts: Int64, fastPiles: Set<Int>) {
        self.limitWatts = limitWatts
        powers = Dictionary(uniqueKeysWithValues: (1...BenchLoad.pilesPerStation).map { ($0, fastPiles.contains($0) ? 30_000 : 10_000) })
    }

    private enum Change {
        case limit(Int64), charging(Bool)
    }

    func received(_ text: String, pile: Int) {
        guard let frame = ServerFrame(text: text) else { return }
        switch frame {
        case .setPower(let powerKW, _): apply(.limit(Int64((powerKW * 1_000).rounded())), pile: pile, protocolCount: \.setPowers)
        case .startCharging: apply(.charging(true), pile: pile)
        case .stopCharging: apply(.charging(false), pile: pile)
        default: return
        }
    }

    /// An OCPP CALL a charge point received: SetChargingProfile (its first period, W, or A at 230 V on its phases, as
    /// the simulated charger takes it), RemoteStartTransaction, RemoteStopTransaction.
    func receivedOCPP(_ text: String, pile: Int) {
        guard let message = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [Any], message.count == 4,
              message[0] as? Int == 2, let action = message[2] as? String, let payload = message[3] as? [String: Any]
        else { return }
        switch action {
        case "SetChargingProfile":
            let schedule = (payload["csChargingProfiles"] as? [String: Any])?["chargingSchedule"] as? [String: Any]
            guard let period = (schedule?["chargingSchedulePeriod"] as? [[String: Any]])?.first,
                  let limit = (period["limit"] as? NSNumber)?.doubleValue else { return }
            let watts = schedule?["chargingRateUnit"] as? String == "A" ? limit * 230 * Double((period["numberPhases"] as? Int) ?? 3) : limit
            apply(.limit(Int64(watts.rounded())), pile: pile, protocolCount: \.chargingProfiles)
        case "RemoteStartTransaction": apply(.charging(true), pile: pile)
        case "RemoteStopTransaction": apply(.charging(false), pile: pile)
        default: return
        }
    }

    private func apply(_ change: Change, pile: Int, protocolCount: WritableKeyPath<Summary, Int>? = nil) {
        state.withLock { state in
            switch change {
            case .limit(let watts): state.piles[pile, default: .init()].limitWatts = watts
            case .charging(let charging): state.piles[pile, default: .init()].charging = charging
            }
            if let protocolCount { state.summary[keyPath: protocolCount] += 1 }
            var drawing: Int64 = 0
            for (id, pileState) in state.piles where pileState.charging {
                drawing += min(powers[id] ?? 0, pileState.limitWatts ?? powers[id] ?? 0)
            }
            state.summary.frames += 1
            state.summary.maximumWatts = max(state.summary.maximumWatts, drawing)
            if drawing > limitWatts { state.summary.violations += 1 }
        }
    }

    var summary: Summary { state.withLock { $0.summary } }
}

extension StationEffect {
    struct LimitSent {
        var pileID: Int, watts: Int64, sequence: Int64
        var acknowledgement: StationCommand { .powerLimitAcknowledged(pileID: pileID, watts: watts, sequence: sequence) }
    }
}

extension [StationEffect] {
    var limitsSent: [StationEffect.LimitSent] {
        compactMap { if case let .limitPower(pileID, watts, sequence) = $0 { .init(pileID: pileID, watts: watts, sequence: sequence) } else { nil } }
    }
}
