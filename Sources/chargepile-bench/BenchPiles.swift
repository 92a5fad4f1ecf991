import ArgumentParser
import ChargingServer
import ChargingDomain
import Foundation
import LocalCluster
import Logging
import PileProtocol
import PileSimulator
import PostgresClient
import Synchronization

/// `chargepile bench piles`: the resident memory one `chargepile serve` spends per idle
/// pile WebSocket, against what the simulator (this process) spends per socket it holds.
struct BenchPiles: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "piles",
        abstract: "Resident memory per idle pile WebSocket held by one instance, against the simulator's own per socket.",
        discussion: """
            Starts one `chargepile serve` child (the build next to this binary) (its open-file limit raised to the \
            hard limit) on a database of its own (\(databaseName), dropped and created on each \
            run), provisions --piles piles in a second station (SQL, one bcrypt hash of cost 4 \
            shared by all, so logging in costs little), logs every pile in once as a warm-up, \
            reads the server's VmRSS, opens the WebSockets (--concurrency connecting at a time), \
            waits until the database shows every pile owned, lets it settle, and reads VmRSS again.
            """)

    @Option(help: "Idle piles to connect.")
    var piles: Int = 10_000

    @Option(help: "Piles logging in and connecting at the same time.")
    var concurrency: Int = 50

    @Option(help: "Seconds to wait before reading memory after connecting (and after the frames): longer than serve's ping interval (20 s), since the first ping grows each connection's ping task.")
    var settle: Int = 25

    @Option(
        name: .customLong("frames-per-pile"),
        help: "Afterwards, each pile sends this many frames (an ack of an unknown command, answered with an error frame), and memory is read again.")
    var framesPerPile: Int = 1

    @OptionGroup var server: BenchServerOptions

    static let databaseName = "chargepile_bench_piles"
    /// The benchmark's piles live in a station of their own, so station 1 is not disturbed.
    static let stationID = 2
    static let firstPileID = 100_001
    /// How long one batch of piles may take to connect before the run is abandoned.
    static let batchTimeout: Duration = .seconds(120)

    func validate() throws {
        guard piles > 0, concurrency > 0, settle >= 0, framesPerPile >= 0 else {
            throw ValidationError("--piles and --concurrency must be positive, --settle and --frames-per-pile ≥ 0")
        }
    }

    func run() async throws {
        let fileLimit = BenchThreads.raiseOpenFileLimit()
        guard fileLimit >= piles + 512 else {
            throw ValidationError("this process may open \(fileLimit) files; \(piles) piles need about \(piles + 512)")
        }
        let database = try await BenchScratchDatabase.recreate(Self.databaseName, serverURL: server.databaseURL)
        defer { database.stop() }
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("chargepile-bench-piles-\(getpid())")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let password = BenchRouting.randomPassword()

        print("Starting one instance on \(Self.databaseName) (log in \(logs.path))…")
        let server = try await ServeProcess.start(
            name: "server", databaseURL: database.conninfo,
            environment: ["CHARGEPILE_ADMIN_PASSWORD": BenchRouting.randomPassword(), "CHARGEPILE_PILE_PASSWORD": password],
            // Memory is measured, not admission: logins as fast as they come.
            logDirectory: logs, arguments: ["--admission-rate", "0"], prefix: server.serverPrefix)
        defer { server.stop() }

        let pool = PostgresPool(conninfo: database.conninfo, maxConnections: 2, acquireTimeout: .seconds(10))
        do {
            try await provision(pool: pool, password: password)
            try await measure(server: server, pool: pool, password: password)
        } catch {
            server.stop()
            await pool.close()
            throw error
        }
        await pool.close()
    }

    /// Station 2 as a copy of station 1's settings and state, and the piles, in one go.
    private func provision(pool: PostgresPool, password: String) async throws {
        let clock = ContinuousClock()
        let start = clock.now
        // Cost 4, the least bcrypt allows: login cost is not what this measures.
        let hash = try await PasswordHasher(cost: 4).hash(password)
        let lastPileID = Self.firstPileID + piles - 1
        try await pool.withTransaction { connection in
            try await connection.execute("""
                INSERT INTO stations (id, name, settings, state, clock_mode, clock_speed, clock_real_origin, clock_station_origin)
                SELECT \(Self.stationID), \("bench piles"), settings, state, clock_mode, clock_speed, clock_real_origin, clock_station_origin
                FROM stations WHERE id = 1
                """)
            try await connection.execute("""
                INSERT INTO piles (id, station_id, kind, power_kw, password_hash)
                SELECT g, \(Self.stationID), 'T', 10, \(hash) FROM generate_series(\(Self.firstPileID), \(lastPileID)) AS g
                """)
        }
        print("Provisioned piles \(Self.firstPileID)…\(lastPileID) in station \(Self.stationID) in \(Self.secondsText(clock.now - start)) s")
    }

    private func measure(server: ServeProcess, pool: PostgresPool, password: String) async throws {
        let clock = ContinuousClock()

        // Every pile logs in once before the baseline, so the baseline has served as many
        // logins as the connect phase will (the simulator logs in again before each upgrade).
        var start = clock.now
        try await warmUpLogins(port: server.port, password: password)
        print("Warm-up: \(piles) pile logins in \(Self.secondsText(clock.now - start)) s")

        try await Task.sleep(for: .seconds(min(settle, 5)))
        let serverBefore = try server.memory()
        let simulatorBefore = try BenchProcessMemory.ofThisProcess

        let welcomed = BenchCounter()
        let refused = BenchCounter()
        let ended = BenchCounter()
        var simulated: [SimulatedPile] = []
        simulated.reserveCapacity(piles)
        var pileLogger = Logger(label: "chargepile.bench.piles")
        pileLogger.logLevel = .critical
        let logger = pileLogger
        print("Connecting \(piles) piles, \(concurrency) at a time…")
        start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            do {
                var started = 0
                while started < piles {
                    let batch = min(concurrency, piles - started)
                    for offset in 0..<batch {
                        let pile = SimulatedPile(
                            PileSimulatorConfiguration(baseURL: server.url, pileID: Self.firstPileID + started + offset, password: password),
                            logger: logger,
                            onFrame: { direction, text in
                                guard direction == .received else { return }
                                if text.contains(#""welcome""#) { welcomed.increment() }
                                if text.contains(#""error""#) { refused.increment() }
                            })
                        simulated.append(pile)
                        group.addTask {
                            _ = try? await pile.run()
                            ended.increment()
                        }
                    }
                    started += batch
                    let deadline = clock.now + Self.batchTimeout
                    while welcomed.value + ended.value < started {
                        guard clock.now < deadline else {
                            throw BenchFailure("only \(welcomed.value) of \(started) piles welcomed within \(Self.batchTimeout)")
                        }
                        try await Task.sleep(for: .milliseconds(5))
                    }
                    guard ended.value == 0 else { throw BenchFailure("\(ended.value) pile(s) failed to connect; see \(server.logFile)") }
                    if started % 1000 == 0 || started == piles {
                        print("  \(started) welcomed after \(Self.secondsText(clock.now - start)) s")
                    }
                }
                let connectTime = clock.now - start
                let owned = try await waitUntilOwned(pool: pool)
                try await Task.sleep(for: .seconds(settle))
                guard ended.value == 0 else { throw BenchFailure("\(ended.value) pile socket(s) closed while idle") }
                let serverAfter = try server.memory()
                let simulatorAfter = try BenchProcessMemory.ofThisProcess
                report(before: serverBefore, after: serverAfter, simulatorBefore: simulatorBefore, simulatorAfter: simulatorAfter,
                       connectTime: connectTime, owned: owned, server: server)
                if framesPerPile > 0 {
                    try await sendFrames(simulated, answered: refused)
                    try await Task.sleep(for: .seconds(settle))
                    guard ended.value == 0 else { throw BenchFailure("\(ended.value) pile socket(s) closed after their frames") }
                    let serverActive = try server.memory()
                    let perPile = Double(serverActive.residentKiB - serverBefore.residentKiB) / Double(piles)
                    print("")
                    print("After every pile sent \(framesPerPile) frame(s) (ack of an unknown command, each answered with an error frame), "
                        + "still connected: server VmRSS \(serverActive.residentKiB) KiB, RssAnon \(serverActive.anonymousKiB) KiB: "
                        + String(format: "%.1f KiB per pile since before connecting (%+.1f against idle)", perPile,
                                 Double(serverActive.residentKiB - serverAfter.residentKiB) / Double(piles)))
                }
            } catch {
                server.stop()
                group.cancelAll()
                throw error
            }
            // Stopping the server first ends every socket at once; cancelling 10,000 clients one by one is slower.
            print("Stopping the server…")
            server.stop(grace: .seconds(2))
            group.cancelAll()
        }
    }

    /// Each pile sends `framesPerPile` acks of a command that does not exist, `concurrency`
    /// piles at a time; returns once every one was answered (with an `error` frame).
    private func sendFrames(_ simulated: [SimulatedPile], answered: BenchCounter) async throws {
        let clock = ContinuousClock()
        let start = clock.now
        let expected = answered.value + simulated.count * framesPerPile
        let frame = PileFrame.ack(commandID: 9_000_000_000_000_000_000).text
        let frames = framesPerPile
        for batch in stride(from: 0, to: simulated.count, by: concurrency) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for pile in simulated[batch..<min(batch + concurrency, simulated.count)] {
                    group.addTask { for _ in 0..<frames { try await pile.sendRaw(frame) } }
                }
                try await group.waitForAll()
            }
        }
        let deadline = clock.now + Self.batchTimeout
        while answered.value < expected {
            guard clock.now < deadline else { throw BenchFailure("only \(answered.value) of \(expected) frames answered") }
            try await Task.sleep(for: .milliseconds(10))
        }
        print("Sent \(simulated.count * framesPerPile) frame(s), all answered, in \(Self.secondsText(clock.now - start)) s")
    }

    /// Logs every pile in through a few keep-alive connections, a thread each.
    private func warmUpLogins(port: Int, password: String) async throws {
        let workers = min(4, piles)
        let piles = self.piles
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    try await BenchThreads.dedicated(name: "bench.piles.login.\(worker)") {
                        let client = BenchHTTPClient(port: port)
                        for index in stride(from: worker, to: piles, by: workers) {
                            let reply = try client.post("/p/login", form: [("id", "\(Self.firstPileID + index)"), ("password", password)])
                            guard reply.json?["code"] as? Int == 200 else {
                                throw BenchFailure("login of pile \(Self.firstPileID + index) failed: \(reply.text)")
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// Waits until `piles.owner_instance` is set for every benchmark pile; returns that count.
    private func waitUntilOwned(pool: PostgresPool) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(120)
        while true {
            let owned: Int = try await pool.query("""
                SELECT count(*) AS n FROM piles WHERE station_id = \(Self.stationID) AND owner_instance IS NOT NULL
                """).first!.decode("n")
            if owned == piles { return owned }
            guard ContinuousClock.now < deadline else { throw BenchFailure("only \(owned) of \(piles) piles owned after 120 s") }
            try await Task.sleep(for: .milliseconds(500))
        }
    }

    private func report(
        before: BenchProcessMemory, after: BenchProcessMemory, simulatorBefore: BenchProcessMemory, simulatorAfter: BenchProcessMemory,
        connectTime: Duration, owned: Int, server: ServeProcess
    ) {
        func perPile(_ before: Int, _ after: Int) -> Double { Double(after - before) / Double(piles) }
        let serverPerPile = perPile(before.residentKiB, after.residentKiB)
        let simulatorPerPile = perPile(simulatorBefore.residentKiB, simulatorAfter.residentKiB)
        print("")
        print("Idle piles: \(piles) pile WebSockets held by one `chargepile serve` (\(owned) owned in the database), "
            + "connected in \(Self.secondsText(connectTime)) s (\(String(format: "%.0f", Double(piles) / connectTime.inSeconds)) piles/s, "
            + "\(concurrency) at a time); memory read \(settle) s after the last login / connect")
        BenchTable.print(
            header: ["process", "before (KiB)", "after (KiB)", "per pile (KiB)"],
            rows: [
                ["server VmRSS", "\(before.residentKiB)", "\(after.residentKiB)", String(format: "%.1f", serverPerPile)],
                ["server RssAnon", "\(before.anonymousKiB)", "\(after.anonymousKiB)",
                 String(format: "%.1f", perPile(before.anonymousKiB, after.anonymousKiB))],
                ["simulator VmRSS (this process, the client side)", "\(simulatorBefore.residentKiB)", "\(simulatorAfter.residentKiB)",
                 String(format: "%.1f", simulatorPerPile)],
            ])
        print("")
        print(String(format: "server / simulator per pile: %.2f", serverPerPile / simulatorPerPile))
        print("goal: ≤ 20 KiB per pile on the server: \(serverPerPile <= 20 ? "met" : "NOT met") (\(String(format: "%.1f", serverPerPile)) KiB)")
    }

    static func secondsText(_ duration: Duration) -> String { String(format: "%.1f", duration.inSeconds) }
}

/// A counter several tasks bump and one reads.
final class BenchCounter: Sendable {
    private let count = Atomic<Int>(0)

    func increment() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
