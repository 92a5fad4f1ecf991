import ArgumentParser
import Foundation
import LocalCluster
import Logging
import PileSimulator
import PostgresClient
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `chargepile bench routing`: an admin's `status/set` on instance B until the pile
/// holding its WebSocket on instance A receives `set_status`, against the raw
/// NOTIFY → LISTEN round trip of our wrapper, in the same run.
struct BenchRouting: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "routing",
        abstract: "Command latency admin HTTP on one instance → frame at a pile on another, against raw NOTIFY → LISTEN.",
        discussion: """
            Starts two `chargepile serve` children (the build next to this binary) on a database of its own \
            (\(databaseName), dropped and created on each run), connects one simulated pile to \
            instance A, logs in as admin on instance B and sends status/set on/off to B one at \
            a time. Alternates with the raw NOTIFY → LISTEN round trip (PostgresListener on one \
            connection, SELECT pg_notify on another) so background load hits both alike.
            """)

    @Option(help: "Measured status/set commands (and as many raw NOTIFY round trips).")
    var commands: Int = 2000

    @Option(help: "Alternate commands and raw round trips this many times.")
    var rounds: Int = 5

    @Option(help: "Unmeasured commands and round trips first.")
    var warmup: Int = 50

    @Option(help: "Round trips for the HTTP client comparison (GET /healthz, ours vs URLSession).")
    var httpProbes: Int = 200

    @OptionGroup var server: BenchServerOptions

    @Option(
        name: .customLong("synchronous-commit"),
        help: "An experiment: set synchronous_commit for the benchmark's database (on, off, local…) before the instances start.")
    var synchronousCommit: String?

    static let databaseName = "chargepile_bench_routing"
    static let pileID = 1
    static let notifyChannel = "chargepile_bench_raw"
    /// How long one command or notification may take before the run is abandoned.
    static let stepTimeout: Duration = .seconds(5)

    func validate() throws {
        guard commands > 0, rounds > 0, commands % rounds == 0 else {
            throw ValidationError("--commands and --rounds must be positive, and --rounds must divide --commands")
        }
        guard warmup >= 0, httpProbes > 0 else { throw ValidationError("--warmup must be ≥ 0 and --http-probes positive") }
    }

    func run() async throws {
        let database = try await BenchScratchDatabase.recreate(Self.databaseName, serverURL: server.databaseURL)
        defer { database.stop() }
        try await prepare(database.conninfo)
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("chargepile-bench-routing-\(getpid())")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let adminPassword = Self.randomPassword()
        let pilePassword = Self.randomPassword()
        let environment = ["CHARGEPILE_ADMIN_PASSWORD": adminPassword, "CHARGEPILE_PILE_PASSWORD": pilePassword]

        print("Starting instances A and B on \(Self.databaseName) (logs in \(logs.path))…")
        // A first: it migrates and creates the admin and the default station; B finds them.
        let owner = try await ServeProcess.start(
            name: "A", databaseURL: database.conninfo, environment: environment, logDirectory: logs, prefix: server.serverPrefix)
        defer { owner.stop() }
        let requester = try await ServeProcess.start(
            name: "B", databaseURL: database.conninfo, environment: environment, logDirectory: logs, prefix: server.serverPrefix)
        defer { requester.stop() }
        let pool = PostgresPool(conninfo: database.conninfo, maxConnections: 2, acquireTimeout: .seconds(10))
        do {
            try await measure(owner: owner, requester: requester, pool: pool, conninfo: database.conninfo,
                              adminPassword: adminPassword, pilePassword: pilePassword)
        } catch {
            await pool.close()
            throw error
        }
        await pool.close()
    }

    /// The doorbell reference's table and, for the experiment, the commit setting every
    /// later session of the database picks up.
    private func prepare(_ conninfo: String) async throws {
        let connection = try await PostgresConnection.connect(conninfo)
        do {
            try await connection.execute("CREATE TABLE bench_doorbell (id bigserial PRIMARY KEY, payload text NOT NULL)")
            if let synchronousCommit {
                guard ["on", "off", "local", "remote_write", "remote_apply"].contains(synchronousCommit) else {
                    throw ValidationError("--synchronous-commit must be on, off, local, remote_write or remote_apply")
                }
                try await connection.unsafeSimpleQuery("ALTER DATABASE \(Self.databaseName) SET synchronous_commit = \(synchronousCommit)")
            }
        } catch {
            await connection.close()
            throw error
        }
        await connection.close()
    }

    private func measure(
        owner: ServeProcess, requester: ServeProcess, pool: PostgresPool, conninfo: String,
        adminPassword: String, pilePassword: String
    ) async throws {
        let httpComparison = try await compareHTTPClients(port: requester.port)

        let client = BenchHTTPClient(port: requester.port)
        let token: String = try await BenchThreads.blocking {
            let reply = try client.post("/a/login", form: [("username", "admin"), ("password", adminPassword)])
            guard let token = reply.json?["token"] as? String else { throw BenchFailure("admin login on B failed: \(reply.text)") }
            return token
        }

        // The pile on A; its frames are stamped as its task reads them.
        let frames = BenchInbox<String>()
        var pileLogger = Logger(label: "chargepile.bench.pile")
        pileLogger.logLevel = .error
        let pile = SimulatedPile(
            PileSimulatorConfiguration(baseURL: owner.url, pileID: Self.pileID, password: pilePassword),
            logger: pileLogger,
            onFrame: { direction, text in if direction == .received { frames.put(text) } })
        let pileTask = Task { try await pile.run() }
        defer { pileTask.cancel() }
        let welcome = try await BenchThreads.blocking { frames.take(timeout: .seconds(10)) }
        guard let welcome, welcome.item.contains(#""welcome""#) else {
            throw BenchFailure("pile \(Self.pileID) got no welcome from A: \(welcome?.item ?? "nothing")")
        }

        // The raw reference: our listener on one connection, pg_notify from another.
        let notifications = BenchInbox<String>()
        let listener = PostgresListener(conninfo: conninfo, overrides: ["application_name": "chargepile-bench-listener"])
        try await listener.listen(Self.notifyChannel)
        let listenerTask = Task { try await listener.run() }
        defer { listenerTask.cancel() }
        let consumer = Task {
            for await event in listener.events {
                switch event {
                case .reconnected: notifications.put("")
                case .notification(let notification): notifications.put(notification.payload)
                }
            }
        }
        defer { consumer.cancel() }
        guard try await BenchThreads.blocking({ notifications.take(timeout: .seconds(10)) }) != nil else {
            throw BenchFailure("the benchmark's listener did not connect")
        }
        let notifier = PostgresPool(conninfo: conninfo, maxConnections: 1, acquireTimeout: .seconds(10))
        do {
            try await measureRounds(client: client, token: token, frames: frames, notifier: notifier, notifications: notifications,
                                    pool: pool, httpComparison: httpComparison)
        } catch {
            await notifier.close()
            throw error
        }
        await notifier.close()
    }

    private func measureRounds(
        client: BenchHTTPClient, token: String, frames: BenchInbox<String>, notifier: PostgresPool,
        notifications: BenchInbox<String>, pool: PostgresPool, httpComparison: (ours: BenchLatencies, urlSession: BenchLatencies)
    ) async throws {

        print("Warming up (\(warmup) commands, \(warmup) raw round trips)…")
        if warmup > 0 {
            _ = try await sendCommands(warmup, client: client, token: token, frames: frames, startingWith: 0)
            _ = try await notifyRoundTrips(warmup, notifier: notifier, notifications: notifications, withRow: false)
            _ = try await notifyRoundTrips(warmup, notifier: notifier, notifications: notifications, withRow: true)
        }
        let firstMeasuredCommand: Int64 = try await pool.query("SELECT coalesce(max(id), 0) + 1 AS id FROM pile_commands")
            .first!.decode("id")

        var frameLatency = BenchLatencies()
        var replyLatency = BenchLatencies()
        var raw = BenchLatencies()
        var doorbell = BenchLatencies()
        var pooledQuery = BenchLatencies()
        let slice = commands / rounds
        for round in 0..<rounds {
            let measured = try await sendCommands(slice, client: client, token: token, frames: frames,
                                                  startingWith: warmup + round * slice)
            frameLatency.append(contentsOf: measured.frame)
            replyLatency.append(contentsOf: measured.reply)
            let roundTrips = try await notifyRoundTrips(slice, notifier: notifier, notifications: notifications, withRow: false)
            raw.append(contentsOf: roundTrips)
            doorbell.append(contentsOf: try await notifyRoundTrips(slice, notifier: notifier, notifications: notifications, withRow: true))
            pooledQuery.append(contentsOf: try await pooledQueries(slice, pool: notifier))
            print("  round \(round + 1)/\(rounds): command p50 \(BenchLatencies.format(measured.frame.p50)) ms "
                + "p99 \(BenchLatencies.format(measured.frame.p99)) ms, raw p50 \(BenchLatencies.format(roundTrips.p50)) ms "
                + "p99 \(BenchLatencies.format(roundTrips.p99)) ms")
        }

        // The database's clock: requester's transaction start → owner's `finish` transaction start.
        let serverSide = try await pool.query("""
            SELECT extract(epoch FROM finished_at - requested_at)::float8 * 1000 AS ms,
                   extract(epoch FROM acked_at - requested_at)::float8 * 1000 AS acked_ms
            FROM pile_commands WHERE id >= \(firstMeasuredCommand) AND state = 'written' ORDER BY id
            """)
        var finishedInDatabase = BenchLatencies()
        var ackedInDatabase = BenchLatencies()
        for row in serverSide {
            finishedInDatabase.append(.microseconds(Int64((try row.decode("ms", as: Double.self)) * 1000)))
            if let acked = try row.decode("acked_ms", as: Double?.self) { ackedInDatabase.append(.microseconds(Int64(acked * 1000))) }
        }
        let outcomes = try await pool.query("""
            SELECT state, count(*) AS n FROM pile_commands WHERE id >= \(firstMeasuredCommand) GROUP BY state ORDER BY state
            """).map { "\(try $0.decode("state", as: String.self)) \(try $0.decode("n", as: Int.self))" }

        print("")
        print("Command routing: pile on instance A, admin on instance B, \(commands) status/set on/off one at a time "
            + "in \(rounds) alternating round(s) with \(commands) of each reference; \(warmup) of each first unmeasured"
            + (synchronousCommit.map { "; synchronous_commit = \($0) for the database" } ?? ""))
        BenchTable.print(
            header: ["path", "n", "p50 (ms)", "p90 (ms)", "p99 (ms)", "max (ms)"],
            rows: [
                ["status/set on B → set_status frame at the pile on A", "\(frameLatency.count)"] + frameLatency.cells,
                ["status/set on B → HTTP reply", "\(replyLatency.count)"] + replyLatency.cells,
                ["raw NOTIFY → LISTEN (pg_notify → PostgresListener event)", "\(raw.count)"] + raw.cells,
                ["row + NOTIFY committed (BEGIN, INSERT, pg_notify, COMMIT) → event", "\(doorbell.count)"] + doorbell.cells,
                ["one pooled query from a task (SELECT 1)", "\(pooledQuery.count)"] + pooledQuery.cells,
                ["database clock: requested_at → finished_at", "\(finishedInDatabase.count)"] + finishedInDatabase.cells,
                ["database clock: requested_at → acked_at", "\(ackedInDatabase.count)"] + ackedInDatabase.cells,
                ["GET /healthz, our keep-alive client", "\(httpComparison.ours.count)"] + httpComparison.ours.cells,
                ["GET /healthz, URLSession", "\(httpComparison.urlSession.count)"] + httpComparison.urlSession.cells,
            ])
        print("")
        print("command outcomes: \(outcomes.joined(separator: ", "))")
        print(String(format: "command (frame) / raw NOTIFY: p50 %.2f, p99 %.2f", frameLatency.p50 / raw.p50, frameLatency.p99 / raw.p99))
        print(String(format: "command (reply) / raw NOTIFY: p50 %.2f, p99 %.2f", replyLatency.p50 / raw.p50, replyLatency.p99 / raw.p99))
        print(String(format: "command (frame) / row + NOTIFY: p50 %.2f, p99 %.2f", frameLatency.p50 / doorbell.p50,
                     frameLatency.p99 / doorbell.p99))
        print("goal: command (HTTP request → frame at the pile) p99 ≤ 5 ms on loopback: "
            + "\(frameLatency.p99 <= 5 ? "met" : "NOT met") (p99 \(BenchLatencies.format(frameLatency.p99)) ms; "
            + "until the HTTP reply: p99 \(BenchLatencies.format(replyLatency.p99)) ms)")
    }

    /// `count` commands alternating on/off (by `index` parity, so the pile's status always
    /// changes), one at a time on a thread of their own: frame and reply latency of each.
    private func sendCommands(
        _ count: Int, client: BenchHTTPClient, token: String, frames: BenchInbox<String>, startingWith index: Int
    ) async throws -> (frame: BenchLatencies, reply: BenchLatencies) {
        try await BenchThreads.dedicated(name: "bench.routing.admin") {
            var frame = BenchLatencies()
            var reply = BenchLatencies()
            let clock = ContinuousClock()
            for step in 0..<count {
                let status = (index + step) % 2 == 0 ? "on" : "off"
                let start = clock.now
                let answer = try client.post("/admin/charge/status/set", form: [
                    ("token", token), ("id", "\(Self.pileID)"), ("status", status),
                ])
                let replied = clock.now
                guard answer.json?["code"] as? Int == 200 else {
                    throw BenchFailure("status/set \(status) answered \(answer.status): \(answer.text)")
                }
                var arrived: ContinuousClock.Instant?
                while arrived == nil {
                    guard let received = frames.take(timeout: Self.stepTimeout) else {
                        throw BenchFailure("no set_status \(status) frame within \(Self.stepTimeout)")
                    }
                    if received.item.contains(#""set_status""#) {
                        guard received.item.contains(#""status":"\#(status)""#) else {
                            throw BenchFailure("expected set_status \(status), got \(received.item)")
                        }
                        arrived = received.at
                    }
                }
                frame.append(arrived! - start)
                reply.append(replied - start)
            }
            return (frame, reply)
        }
    }

    /// `count` round trips until our listener's consumer task has the notification: a bare
    /// `pg_notify` on the notifier's connection, or `withRow`, the doorbell pattern itself
    /// (a row inserted and its NOTIFY in one transaction, whose commit flushes the WAL).
    private func notifyRoundTrips(
        _ count: Int, notifier: PostgresPool, notifications: BenchInbox<String>, withRow: Bool
    ) async throws -> BenchLatencies {
        try await notifier.withConnection { connection in
            var latencies = BenchLatencies()
            let clock = ContinuousClock()
            for step in 0..<count {
                let payload = "\(withRow ? "row" : "bare"):\(step)"
                let start = clock.now
                if withRow {
                    try await connection.withTransaction { connection in
                        try await connection.execute("INSERT INTO bench_doorbell (payload) VALUES (\(payload))")
                        _ = try await connection.query("SELECT pg_notify(\(Self.notifyChannel), \(payload))")
                    }
                } else {
                    _ = try await connection.query("SELECT pg_notify(\(Self.notifyChannel), \(payload))")
                }
                // Blocks the notifier connection's own thread, which has nothing else to do.
                guard let received = notifications.take(timeout: Self.stepTimeout), received.item == payload else {
                    throw BenchFailure("notification \(payload) not received within \(Self.stepTimeout)")
                }
                latencies.append(received.at - start)
            }
            return latencies
        }
    }

    /// What each statement of the routing path costs at least: one pooled query issued from
    /// a task on the cooperative pool (the connection's thread and back).
    private func pooledQueries(_ count: Int, pool: PostgresPool) async throws -> BenchLatencies {
        var latencies = BenchLatencies()
        let clock = ContinuousClock()
        for _ in 0..<count {
            let start = clock.now
            _ = try await pool.query("SELECT 1 AS one")
            latencies.append(clock.now - start)
        }
        return latencies
    }

    /// GET /healthz on B: our blocking keep-alive client against URLSession.shared.
    private func compareHTTPClients(port: Int) async throws -> (ours: BenchLatencies, urlSession: BenchLatencies) {
        let probes = httpProbes
        let ours = try await BenchThreads.dedicated(name: "bench.routing.http") {
            let client = BenchHTTPClient(port: port)
            _ = try client.get("/healthz")
            var latencies = BenchLatencies()
            let clock = ContinuousClock()
            for _ in 0..<probes {
                let start = clock.now
                guard try client.get("/healthz").status == 200 else { throw BenchFailure("/healthz failed") }
                latencies.append(clock.now - start)
            }
            return latencies
        }
        var session = BenchLatencies()
        let url = URL(string: "http://127.0.0.1:\(port)/healthz")!
        _ = try await URLSession.shared.data(from: url)
        let clock = ContinuousClock()
        for _ in 0..<probes {
            let start = clock.now
            let (_, response) = try await URLSession.shared.data(from: url)
            guard (response as? HTTPURLResponse)?.statusCode == 200 else { throw BenchFailure("/healthz failed") }
            session.append(clock.now - start)
        }
        return (ours, session)
    }

    static func randomPassword() -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet.randomElement(using: &generator)! })
    }
}
