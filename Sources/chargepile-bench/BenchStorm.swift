import ArgumentParser
import ChargingServer
import EmbeddedPostgres
import Foundation
import HTTPTypes
import LocalCluster
import Logging
import NIOCore
import OCPP16
import PileSimulator
import PostgresClient
import Synchronization
import WSClient
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `chargepile-bench storm`: the reconnect storm of issue 18. Two instances behind nginx, every charger
/// on A, `kill -9` A: how long until every charger is booted on B and controllable again, what B spends
/// doing it, and how the chargers B already held are answered meanwhile.
struct BenchStorm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storm",
        abstract: "10,000 chargers on instance A of two behind nginx; kill -9 A; time until all are booted on B and controllable.",
        discussion: """
            Starts two `chargepile serve` children A and B (the build next to this binary) on a database of its own \
            (\(databaseName), dropped and created on each run) and nginx from scripts/nginx-cluster.conf.template with \
            A as the upstream and B as its backup, so every charger lands on A while A lives. Provisions --stations \
            stations and --chargers piles across them (every other one an OCPP 1.6J charger, the others our protocol), \
            connects them all through nginx with the simulator's reconnect (jittered backoff, retry_after and Pending \
            honoured), connects --probes OCPP chargers straight to B that send a StatusNotification every \
            --probe-interval and time its answer, then SIGKILLs A. Measures the time until every charger has booted \
            (OCPP Accepted, our `welcome`) again, the database shows them all owned by B, a sample of status/set \
            through nginx succeeded and status/get shows them connected; B's peak RSS and CPU; PostgreSQL's connections; \
            and the probes' CALL latency before and during the storm.

            nginx's per-address limits (1,000 connections, 5 logins a second) are raised in this run's copy of the \
            configuration: every simulated charger comes from 127.0.0.1, where real ones come from as many addresses.
            """)

    @Option(help: "Chargers held by A when it is killed (half OCPP 1.6J, half our protocol).")
    var chargers = 10_000
    @Option(help: "Stations the chargers are spread across.")
    var stations = 100
    @Option(help: "OCPP chargers connected straight to B whose CALLs are timed.")
    var probes = 20
    @Option(name: .customLong("probe-interval"), help: "Seconds between one probe's StatusNotifications.")
    var probeInterval = 0.25
    @Option(name: .customLong("status-sample"), help: "Chargers sent status/set after recovery.")
    var statusSample = 100
    @Option(name: .customLong("admission-rate"), help: "Given to both instances' --admission-rate (default: serve's own default).")
    var admissionRate: Int?
    @Option(help: "Seconds any phase may take before the run is abandoned.")
    var timeout = 180.0
    @Option(name: .customLong("nginx-template"), help: "The nginx configuration template.")
    var nginxTemplate = "scripts/nginx-cluster.conf.template"
    @OptionGroup var server: BenchServerOptions

    static let databaseName = "chargepile_bench_storm"
    static let firstPileID = 1001
    static let firstStationID = 2

    func validate() throws {
        guard chargers >= 2, stations >= 1, probes >= 1, probeInterval > 0, statusSample >= 2, timeout > 0 else {
            throw ValidationError("--chargers ≥ 2, --stations ≥ 1, --probes ≥ 1, --status-sample ≥ 2, positive --probe-interval and --timeout")
        }
    }

    var pileIDs: ClosedRange<Int> { Self.firstPileID...(Self.firstPileID + chargers - 1) }
    var probeIDs: ClosedRange<Int> { (pileIDs.upperBound + 1)...(pileIDs.upperBound + probes) }

    func run() async throws {
        let fileLimit = BenchThreads.raiseOpenFileLimit()
        guard fileLimit >= chargers + probes + 1024 else {
            throw ValidationError("this process may open \(fileLimit) files; \(chargers) chargers need about \(chargers + probes + 1024)")
        }
        let templateText = try String(contentsOfFile: nginxTemplate, encoding: .utf8)
        let database = try await BenchScratchDatabase.recreate(Self.databaseName, serverURL: server.databaseURL)
        defer { database.stop() }
        let runDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("chargepile-bench-storm-\(getpid())")
        try FileManager.default.createDirectory(at: runDirectory, withIntermediateDirectories: true)
        let password = BenchRouting.randomPassword()
        let adminPassword = BenchRouting.randomPassword()
        var arguments = ["--trusted-proxy", "127.0.0.1"]
        if let admissionRate { arguments += ["--admission-rate", "\(admissionRate)"] }
        let environment = ["CHARGEPILE_ADMIN_PASSWORD": adminPassword, "CHARGEPILE_PILE_PASSWORD": password]

        print("Starting instances A and B on \(Self.databaseName) (logs in \(runDirectory.path))…")
        let instanceA = try await ServeProcess.start(name: "A", databaseURL: database.conninfo, environment: environment,
                                                     logDirectory: runDirectory, arguments: arguments, prefix: server.serverPrefix)
        let instanceB: ServeProcess
        do {
            instanceB = try await ServeProcess.start(name: "B", databaseURL: database.conninfo, environment: environment,
                                                     logDirectory: runDirectory, arguments: arguments, prefix: server.serverPrefix)
        } catch {
            instanceA.kill()
            throw error
        }
        let pool = PostgresPool(conninfo: database.conninfo, maxConnections: 2, acquireTimeout: .seconds(10))
        var nginx: BenchNginx?
        do {
            try await provision(pool: pool, password: password)
            nginx = try await BenchNginx.start(template: templateText, runDirectory: runDirectory,
                                               upstreams: BenchNginx.servers(instanceA.port))
            try await measure(a: instanceA, b: instanceB, nginx: nginx!, pool: pool, password: password, adminPassword: adminPassword)
        } catch {
            print("failed: \(error) (logs kept in \(runDirectory.path))")
            nginx?.stop()
            instanceA.kill()
            instanceB.stop(grace: .seconds(2))
            await pool.close()
            throw error
        }
        nginx?.stop()
        instanceA.kill()
        instanceB.stop(grace: .seconds(2))
        await pool.close()
    }

    /// Stations 2… as copies of station 1; the piles round-robin across them, each with one bcrypt hash
    /// (cost 4) and the salted digest both protocols check at login.
    private func provision(pool: PostgresPool, password: String) async throws {
        let clock = ContinuousClock()
        let start = clock.now
        let hash = try await PasswordHasher(cost: 4).hash(password)
        let (salt, digest) = PileSecret.salted(password)
        let lastStation = Self.firstStationID + stations - 1
        try await pool.withTransaction { connection in
            try await connection.execute("""
                INSERT INTO stations (id, name, settings, state, clock_mode, clock_speed, clock_real_origin, clock_station_origin)
                SELECT g, 'storm ' || g, settings, state, clock_mode, clock_speed, clock_real_origin, clock_station_origin
                FROM stations, generate_series(\(Self.firstStationID), \(lastStation)) AS g WHERE id = 1
                """)
            try await connection.execute("""
                INSERT INTO piles (id, station_id, kind, power_kw, password_hash, secret_salt, secret_digest)
                SELECT g, \(Self.firstStationID) + (g - \(Self.firstPileID)) % \(stations), 'T', 10, \(hash), \(salt), \(digest)
                FROM generate_series(\(Self.firstPileID), \(probeIDs.upperBound)) AS g
                """)
        }
        print("Provisioned \(chargers) piles (and \(probes) probes) across stations \(Self.firstStationID)…\(lastStation) "
            + "in \(Self.seconds(clock.now - start)) s")
    }

    // MARK: The run

    private func measure(a: ServeProcess, b: ServeProcess, nginx: BenchNginx, pool: PostgresPool, password: String,
                         adminPassword: String) async throws {
        let clock = ContinuousClock()
        let booted = BootLog()
        var logger = Logger(label: "chargepile.bench.storm")
        logger.logLevel = .critical
        let ocppIDs = pileIDs.filter { $0 % 2 == 1 }
        let ourIDs = pileIDs.filter { $0 % 2 == 0 }
        let ocppFleet = OCPPChargerFleet(
            .init(baseURL: nginx.url, pileIDs: ocppIDs, password: password, fastPileIDs: [], turnOn: true, reconnect: true),
            logger: logger)
        let ourFleet = PileFleet(.init(baseURL: nginx.url, pileIDs: ourIDs, password: password, turnOn: true, reconnect: true),
                                 logger: logger)
        let fleets = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await ocppFleet.run() }
                group.addTask { try? await ourFleet.run() }
                group.addTask {
                    for await event in ocppFleet.events {
                        if case .booted(.accepted, _) = event.event { booted.record(event.pileID) }
                    }
                }
                group.addTask {
                    for await event in ourFleet.events {
                        if case .welcome = event.event { booted.record(event.pileID) }
                    }
                }
            }
        }
        defer { fleets.cancel() }

        print("Connecting \(chargers) chargers (\(ocppIDs.count) OCPP, \(ourIDs.count) ours) through nginx to A…")
        let start = clock.now
        try await waitFor("every charger booted on A", deadline: start + .seconds(timeout)) {
            booted.count(since: start) == chargers
        }
        print("  all \(chargers) booted in \(Self.seconds(clock.now - start)) s")
        let instanceA = try await instanceID(pool: pool, port: a.port)
        let instanceB = try await instanceID(pool: pool, port: b.port)
        // A charger the busy machine disconnected meanwhile (a missed pong) is back within its backoff.
        try await waitFor("every charger owned by A before the kill", deadline: clock.now + .seconds(60)) {
            try await owned(by: instanceA, pool: pool) == chargers
        }

        // New connections from now on go to A and, when A fails them, to B; the sockets open stay with the
        // workers of the old configuration, on A.
        try nginx.reload(upstreams: BenchNginx.servers(a.port, backup: b.port))

        let probeLatencies = ProbeLog()
        let probeProcess = try await runProbes(b: b, password: password, log: probeLatencies)
        defer { if probeProcess.isRunning { probeProcess.terminate() } }
        try await waitFor("every probe booted on B", deadline: clock.now + .seconds(60)) { probeLatencies.count >= probes * 4 }
        try await Task.sleep(for: .seconds(5))

        let sampler = ResourceSampler(pid: b.pid, pool: pool, database: Self.databaseName)
        let sampling = Task { await sampler.run() }
        defer { sampling.cancel() }
        try await Task.sleep(for: .seconds(2))

        print("SIGKILL A (pid \(a.pid))…")
        let killed = clock.now
        let killedAt = monotonicNanoseconds()
        a.kill()
        sampler.markStorm()

        let noticeTask = Task { () -> Duration? in
            while !Task.isCancelled, clock.now < killed + .seconds(60) {
                let alive: Int = (try? await pool.query("SELECT count(*) AS n FROM instances WHERE id = \(instanceA)").first?.decode("n")) ?? 1
                if alive == 0 { return clock.now - killed }
                try? await Task.sleep(for: .milliseconds(100))
            }
            return nil
        }
        var reported = killed
        try await waitFor("every charger booted again", deadline: killed + .seconds(timeout), explain: {
            let missing = pileIDs.filter { !booted.booted($0, since: killed) }.prefix(10)
            let rows = try await pool.query("""
                SELECT id, owner_instance = \(instanceB) AS on_b, status, protocol FROM piles WHERE id = ANY(\("{" + missing.map(String.init).joined(separator: ",") + "}")::int[])
                """)
            return "not booted: " + (try rows.map { "\(try $0.decode("id", as: Int.self)) (on B: \(try $0.decode("on_b", as: Bool?.self).map(String.init) ?? "nobody"), "
                + "\(try $0.decode("status", as: String.self)), \(try $0.decode("protocol", as: String?.self) ?? "-"))" }).joined(separator: "; ")
        }) {
            let count = booted.count(since: killed)
            if clock.now - reported >= .seconds(5) {
                reported = clock.now
                print("  \(count) booted again after \(Self.seconds(clock.now - killed)) s")
            }
            return count == chargers
        }
        let allBooted = clock.now - killed
        print("  every charger booted again \(Self.seconds(allBooted)) s after the kill")
        try await waitFor("every charger owned by B", deadline: killed + .seconds(timeout)) {
            try await owned(by: instanceB, pool: pool) == chargers
        }
        let allOwned = clock.now - killed

        let admin = try await BenchAPI(baseURL: nginx.url, adminPassword: adminPassword)
        let sample = stride(from: 0, to: chargers, by: max(1, chargers / statusSample)).prefix(statusSample).map { pileIDs.lowerBound + $0 }
        let failures = try await admin.setStatus(sample, to: "on")
        guard failures.isEmpty else { throw BenchFailure("status/set failed for \(failures.count) of \(sample.count): \(failures.prefix(5))") }
        let connected = try await admin.connectedPiles()
        guard pileIDs.allSatisfy(connected.contains) else {
            throw BenchFailure("status/get shows \(pileIDs.filter(connected.contains).count) of \(chargers) connected")
        }
        let controllable = clock.now - killed
        sampler.markRecovered()
        print("  every charger owned by B after \(Self.seconds(allOwned)) s; status/set to \(sample.count) and status/get done after "
            + "\(Self.seconds(controllable)) s")
        // B notices A's death by its silence (serve --instance-expiry, 10 s); wait for that to report it.
        let noticed = await noticeTask.value
        try await Task.sleep(for: .seconds(1))
        sampling.cancel()
        probeProcess.terminate()

        let stormLatencies = probeLatencies.latencies(from: killedAt, to: killedAt + UInt64(controllable.inNanoseconds))
        let baseline = probeLatencies.latencies(from: killedAt - 7_000_000_000, to: killedAt)
        let probeFailures = probeLatencies.failures
        let resources = sampler.summary
        report(allBooted: allBooted, allOwned: allOwned, controllable: controllable, noticed: noticed, sample: sample.count,
               baseline: baseline, storm: stormLatencies, probeFailures: probeFailures, resources: resources)
    }

    private func report(allBooted: Duration, allOwned: Duration, controllable: Duration, noticed: Duration?, sample: Int,
                        baseline: BenchLatencies, storm: BenchLatencies, probeFailures: Int, resources: ResourceSampler.Summary) {
        func ms(_ value: Double) -> String { String(format: "%.1f", value) }
        print("")
        print("Reconnect storm: \(chargers) chargers (half OCPP 1.6J, half ours) across \(stations) stations, A killed with SIGKILL; "
            + "admission rate \(admissionRate.map(String.init) ?? "serve's default")/s")
        BenchTable.print(header: ["measure", "value"], rows: [
            ["every charger booted again on B (s after the kill)", Self.seconds(allBooted)],
            ["every charger owned by B in the database (s)", Self.seconds(allOwned)],
            ["status/set to \(sample) chargers succeeded, status/get all connected (s)", Self.seconds(controllable)],
            ["B noticed A gone: A's instance row reaped (s after the kill)", noticed.map(Self.seconds) ?? "not within the run"],
            ["recovered after B noticed (s; goal ≤ 15)", noticed.map { Self.seconds(controllable - $0) } ?? "-"],
            ["B peak RSS (MiB) / before the kill", "\(resources.peakResidentKiB / 1024) / \(resources.residentBeforeKiB / 1024)"],
            ["B CPU during the storm: mean / peak 1-s (cores)", "\(String(format: "%.2f", resources.meanCores)) / \(String(format: "%.2f", resources.peakCores))"],
            ["PostgreSQL connections to the database: before / peak", "\(resources.connectionsBefore) / \(resources.peakConnections)"],
        ])
        print("")
        print("CALL latency of the \(probes) OCPP chargers already on B (StatusNotification every \(probeInterval) s each), ms:")
        BenchTable.print(header: ["window", "calls", "p50", "p99", "max"], rows: [
            ["7 s before the kill", "\(baseline.count)", ms(baseline.percentile(0.5)), ms(baseline.percentile(0.99)), ms(baseline.percentile(1))],
            ["the storm (kill → controllable)", "\(storm.count)", ms(storm.percentile(0.5)), ms(storm.percentile(0.99)), ms(storm.percentile(1))],
        ])
        print("probe CALLs unanswered or refused: \(probeFailures)")
        let withinGoal = noticed.map { controllable - $0 <= .seconds(15) } ?? (controllable <= .seconds(15))
        print("goal: recovered within 15 s of B noticing: \(withinGoal ? "met" : "NOT met"); "
            + "CALL p99 during the storm < 1 s: \(storm.percentile(0.99) < 1000 ? "met" : "NOT met")")
    }

    // MARK: Probes

    /// The probes run in a process of their own (`storm-probes`), as chargers already on B are devices of
    /// their own: in this process, the fleet's 10,000 sockets reconnecting would delay the probes' own
    /// clock by seconds, and that delay would be counted as B's.
    private func runProbes(b: ServeProcess, password: String, log: ProbeLog) async throws -> Process {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        child.arguments = ["storm-probes", "--url", b.url, "--first", "\(probeIDs.lowerBound)", "--count", "\(probes)",
                           "--interval", "\(probeInterval)"]
        child.environment = ProcessInfo.processInfo.environment.merging(["CHARGEPILE_PILE_PASSWORD": password]) { $1 }
        let output = Pipe()
        child.standardOutput = output
        try child.run()
        Thread {
            var pending = Data()
            while case let chunk = output.fileHandleForReading.availableData, !chunk.isEmpty {
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    let fields = line.split(separator: " ")
                    guard fields.count == 2, let sent = UInt64(fields[0]), let latency = Int64(fields[1]) else { continue }
                    log.record(sentNanoseconds: sent, latency: latency < 0 ? nil : .nanoseconds(latency))
                }
            }
        }.start()
        return child
    }

    // MARK: Helpers

    private func instanceID(pool: PostgresPool, port: Int) async throws -> UUID {
        guard let row = try await pool.query("SELECT id FROM instances WHERE address = \("127.0.0.1:\(port)")").first else {
            throw BenchFailure("no instance row for port \(port)")
        }
        return try row.decode("id")
    }

    private func owned(by instance: UUID, pool: PostgresPool) async throws -> Int {
        try await pool.query("""
            SELECT count(*) AS n FROM piles
            WHERE owner_instance = \(instance) AND id BETWEEN \(pileIDs.lowerBound) AND \(pileIDs.upperBound)
            """).first!.decode("n")
    }

    private func waitFor(_ what: String, deadline: ContinuousClock.Instant, explain: () async throws -> String = { "" },
                         _ condition: () async throws -> Bool) async throws {
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw BenchFailure("\(what): not within the deadline. \(try await explain())") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    static func seconds(_ duration: Duration) -> String { String(format: "%.1f", duration.inSeconds) }
}

/// When each charger last booted (OCPP Accepted, our `welcome`).
final class BootLog: Sendable {
    private let boots = Mutex<[Int: ContinuousClock.Instant]>([:])

    func record(_ pileID: Int) {
        let now = ContinuousClock.now
        boots.withLock { $0[pileID] = now }
    }

    func booted(_ pileID: Int, since instant: ContinuousClock.Instant) -> Bool {
        boots.withLock { $0[pileID].map { $0 > instant } ?? false }
    }

    func count(since instant: ContinuousClock.Instant) -> Int {
        boots.withLock { $0.values.count { $0 > instant } }
    }
}

/// The probes' CALLs: when each was sent (`monotonicNanoseconds`, the same clock in both processes) and
/// how long its answer took (nil: refused or unanswered).
final class ProbeLog: Sendable {
    private let calls = Mutex<[(sent: UInt64, latency: Duration?)]>([])

    func record(sentNanoseconds sent: UInt64, latency: Duration?) {
        calls.withLock { $0.append((sent, latency)) }
    }

    var count: Int { calls.withLock { $0.count } }
    var failures: Int { calls.withLock { $0.count { $0.latency == nil } } }

    func latencies(from start: UInt64, to end: UInt64) -> BenchLatencies {
        var latencies = BenchLatencies()
        for call in calls.withLock({ $0 }) where call.sent >= start && call.sent <= end {
            if let latency = call.latency { latencies.append(latency) }
        }
        return latencies
    }
}

/// CLOCK_MONOTONIC in nanoseconds: one clock for this process and its children.
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// B's memory and CPU and the database's connections, sampled every 100 ms.
final class ResourceSampler: Sendable {
    struct Summary: Sendable {
        var residentBeforeKiB = 0
        var peakResidentKiB = 0
        var meanCores = 0.0
        var peakCores = 0.0
        var connectionsBefore = 0
        var peakConnections = 0
    }

    private struct State {
        var summary = Summary()
        var stormStarted: ContinuousClock.Instant?
        var recovered: ContinuousClock.Instant?
        /// (when, CPU seconds of B so far)
        var cpu: [(ContinuousClock.Instant, Double)] = []
    }

    let pid: Int32
    let pool: PostgresPool
    let database: String
    private let state = Mutex(State())

    init(pid: Int32, pool: PostgresPool, database: String) {
        self.pid = pid
        self.pool = pool
        self.database = database
    }

    func markStorm() { state.withLock { $0.stormStarted = .now } }
    func markRecovered() { state.withLock { $0.recovered = .now } }

    func run() async {
        var tick = 0
        while !Task.isCancelled {
            let now = ContinuousClock.now
            let memory = try? BenchProcessMemory(pid: pid)
            let cpu = Self.cpuSeconds(pid: pid)
            var connections: Int?
            if tick % 5 == 0 {
                // Less this sampler's own connection.
                connections = (try? await pool.query(
                    "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = \(database) AND pid <> pg_backend_pid()"
                ).first?.decode("n", as: Int.self))
            }
            state.withLock { state in
                let inStorm = state.stormStarted != nil
                if let memory {
                    if inStorm { state.summary.peakResidentKiB = max(state.summary.peakResidentKiB, memory.residentKiB) }
                    else { state.summary.residentBeforeKiB = memory.residentKiB }
                }
                if let connections {
                    if inStorm { state.summary.peakConnections = max(state.summary.peakConnections, connections) }
                    else { state.summary.connectionsBefore = connections }
                }
                if inStorm, state.recovered == nil, let cpu { state.cpu.append((now, cpu)) }
            }
            tick += 1
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    var summary: Summary {
        state.withLock { state in
            var summary = state.summary
            if let first = state.cpu.first, let last = state.cpu.last, last.0 > first.0 {
                summary.meanCores = (last.1 - first.1) / (last.0 - first.0).inSeconds
            }
            var start = 0
            for end in state.cpu.indices {
                while state.cpu[end].0 - state.cpu[start].0 > .seconds(1) { start += 1 }
                let span = (state.cpu[end].0 - state.cpu[start].0).inSeconds
                if span >= 0.9 { summary.peakCores = max(summary.peakCores, (state.cpu[end].1 - state.cpu[start].1) / span) }
            }
            return summary
        }
    }

    /// utime + stime of a process, from /proc/<pid>/stat.
    static func cpuSeconds(pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name: state is field 3, utime 14, stime 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

/// nginx in the foreground from the cluster's template, per-address limits raised for a run where every
/// charger is 127.0.0.1. First A alone is the upstream (so every charger lands there, however slowly A
/// accepts), then, reloaded, A with B as its backup.
struct BenchNginx: Sendable {
    let port: Int
    let pid: Int32
    let template: String
    let directory: URL
    var url: String { "http://127.0.0.1:\(port)" }

    static func servers(_ primary: Int, backup: Int? = nil) -> String {
        // max_fails=0 on both: one connect that times out in the storm must not take the only survivor out for 10 s.
        "        server 127.0.0.1:\(primary) max_fails=0;" + (backup.map { "\n        server 127.0.0.1:\($0) max_fails=0 backup;" } ?? "")
    }

    static func start(template: String, runDirectory: URL, upstreams: String) async throws -> BenchNginx {
        let binary = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let binary else { throw BenchFailure("nginx is not installed: apt-get install -y nginx") }
        let port = try LoopbackPort.free()
        let directory = runDirectory.appendingPathComponent("nginx")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("nginx-temp"), withIntermediateDirectories: true)
        let configFile = try writeConfig(template: template, directory: directory, port: port, upstreams: upstreams)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["-p", directory.path, "-e", directory.appendingPathComponent("nginx-error.log").path,
                             "-c", configFile.path, "-g", "daemon off;"]
        let log = directory.appendingPathComponent("nginx.out")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = ContinuousClock.now + .seconds(10)
        while !LoopbackPort.isAccepting(port) {
            guard process.isRunning, ContinuousClock.now < deadline else {
                throw BenchFailure("nginx did not start; see \(directory.path)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return BenchNginx(port: port, pid: process.processIdentifier, template: template, directory: directory)
    }

    private static func writeConfig(template: String, directory: URL, port: Int, upstreams: String) throws -> URL {
        var config = template
        let replacements = [
            ("@RUN_DIR@", directory.path),
            ("@USER_LINE@", geteuid() == 0 ? "user root;" : ""),
            ("@LISTEN@", "127.0.0.1:\(port)"),
            ("@UPSTREAM_SERVERS@", upstreams),
            ("@TLS@", ""),
            ("limit_conn chargepile_per_address 1000;", "limit_conn chargepile_per_address 60000;"),
            ("limit_req zone=chargepile_login burst=10 nodelay;", "# (the login limit is off in this run)"),
        ]
        for (placeholder, value) in replacements {
            guard config.contains(placeholder) else { throw BenchFailure("\(placeholder) is not in the nginx template") }
            config = config.replacingOccurrences(of: placeholder, with: value)
        }
        let configFile = directory.appendingPathComponent("nginx.conf")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        return configFile
    }

    /// New upstreams for new connections (SIGHUP: new workers; the old ones keep their sockets).
    func reload(upstreams: String) throws {
        _ = try Self.writeConfig(template: template, directory: directory, port: port, upstreams: upstreams)
        guard kill(pid, SIGHUP) == 0 else { throw BenchFailure("could not reload nginx") }
    }

    func stop() {
        kill(pid, SIGQUIT)
        let deadline = ContinuousClock.now + .seconds(5)
        while kill(pid, 0) == 0, ContinuousClock.now < deadline { usleep(50_000) }
        kill(pid, SIGKILL)
    }
}

/// The admin API through nginx, for the recovery check.
struct BenchAPI: Sendable {
    let baseURL: String
    let token: String
    private static let session: URLSession = {
        let configuration = URLSessionConfiguration.default
        configuration.httpMaximumConnectionsPerHost = 16
        configuration.timeoutIntervalForRequest = 30
        return URLSession(configuration: configuration)
    }()

    init(baseURL: String, adminPassword: String) async throws {
        self.baseURL = baseURL
        let reply = try await Self.request(baseURL + "/a/login", form: ["username": "admin", "password": adminPassword])
        guard let token = reply["token"] as? String else { throw BenchFailure("admin login failed: \(reply)") }
        self.token = token
    }

    /// status/set for each pile, 16 at a time; the piles whose answer was not 200, with the answer.
    func setStatus(_ piles: [Int], to status: String) async throws -> [String] {
        var failures: [String] = []
        for batch in stride(from: 0, to: piles.count, by: 16) {
            try await withThrowingTaskGroup(of: String?.self) { group in
                for pile in piles[batch..<min(batch + 16, piles.count)] {
                    group.addTask {
                        let reply = try await Self.request(baseURL + "/admin/charge/status/set",
                                                           form: ["token": token, "id": "\(pile)", "status": status])
                        return reply["code"] as? Int == 200 ? nil : "pile \(pile): \(reply)"
                    }
                }
                for try await failure in group { if let failure { failures.append(failure) } }
            }
        }
        return failures
    }

    func connectedPiles() async throws -> Set<Int> {
        let reply = try await Self.request(baseURL + "/admin/charge/status/get?token=\(token)", form: nil)
        let rows = reply["data"] as? [[String: Any]] ?? []
        return Set(rows.filter { $0["connected"] as? Bool == true }.compactMap { $0["charging_station_id"] as? Int })
    }

    private static func request(_ url: String, form: [String: String]?) async throws -> [String: Any] {
        guard let address = URL(string: url) else { throw BenchFailure("bad URL \(url)") }
        var request = URLRequest(url: address)
        if let form {
            request.httpMethod = "POST"
            request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(form.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }
                .joined(separator: "&").utf8)
        }
        let (body, _) = try await session.data(for: request)
        return (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
    }
}
