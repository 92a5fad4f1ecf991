import ArgumentParser
import ChargingDomain
import Foundation
import LocalCluster
import Logging
import PileSimulator
import PostgresClient

/// The station engine path under load: many drivers submit and cancel requests against
/// two instances at once. Every request takes the station's advisory lock, so this measures
/// how far one station scales across instances. The reference, in the same run, is an
/// authenticated read by the same drivers (token check plus a snapshot read, no lock).
struct BenchEngine: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Submit/cancel from many drivers on two instances vs an authenticated read; station lock share.")

    @Option(help: "Concurrent drivers (the default station holds 25 cars: 5 piles × 3 + 10 waiting).") var drivers = 20
    @Option(help: "Measured seconds per side.") var seconds = 10
    @OptionGroup var server: BenchServerOptions

    static let password = "bench-password"
    /// Every driver registers from this one address: above the default limit of 20 an hour.
    static let serveArguments = ["--register-limit", "1000"]

    func run() async throws {
        guard (1...25).contains(drivers), seconds > 0 else { throw ValidationError("--drivers must be 1…25, --seconds positive") }
        let database = try await BenchScratchDatabase.recreate("chargepile_bench_engine", serverURL: server.databaseURL)
        defer { database.stop() }
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("chargepile-bench-engine-\(getpid())")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let environment = ["CHARGEPILE_ADMIN_PASSWORD": Self.password, "CHARGEPILE_PILE_PASSWORD": Self.password]
        let first = try await ServeProcess.start(name: "instance-a", databaseURL: database.conninfo, environment: environment,
                                                       logDirectory: logs, arguments: Self.serveArguments, prefix: server.serverPrefix)
        defer { first.stop() }
        let second = try await ServeProcess.start(name: "instance-b", databaseURL: database.conninfo, environment: environment,
                                                        logDirectory: logs, arguments: Self.serveArguments, prefix: server.serverPrefix)
        defer { second.stop() }

        var logger = Logger(label: "bench.piles")
        logger.logLevel = .error
        let fleet = PileFleet(.init(baseURL: "http://127.0.0.1:\(first.port)", pileIDs: Array(1...5), password: Self.password,
                                    turnOn: true), logger: logger)
        let fleetTask = Task { try? await fleet.run() }
        defer { fleetTask.cancel() }
        let pool = PostgresPool(conninfo: database.conninfo, maxConnections: 2)
        try await waitForPilesOn(pool)

        let ports = [first.port, second.port]
        let tokens = try await (0..<drivers).asyncMap { index in try await Self.driverToken(index, port: ports[index % 2]) }

        let reference = try await measure(tokens: tokens, ports: ports) { client, token, _ in
            try Self.expectAnswer(client.get("/user/charge/request?token=\(token)"))
        }
        let sampler = LockSampler(pool: pool)
        let samplerTask = Task { await sampler.run() }
        // Half the drivers fast, half slow: 10 + 10 cars always fit (fast 6 + slow 9 at piles, 10 waiting).
        let engine = try await measure(tokens: tokens, ports: ports, requestsPerOperation: 2) { client, token, driver in
            try Self.expectSuccess(client.post("/user/charge/request",
                                               form: [("token", token), ("mode", driver % 2 == 0 ? "F" : "T"), ("request_quantity", "10")]))
            try Self.expectSuccess(client.post("/user/charge/request/cancel", form: [("token", token)]))
        }
        samplerTask.cancel()
        let share = await samplerTask.value
        await pool.close()

        print("""
            Engine path: \(drivers) drivers on 2 instances, \(seconds) s per side, one station (every change takes its advisory lock)
            side                              | requests/s | p50 ms | p90 ms | p99 ms | max ms
            submit + cancel (latency per pair)  | \(engine.rate) | \(engine.latencies.cells.joined(separator: " | "))
            reference: GET /user/charge/request | \(reference.rate) | \(reference.latencies.cells.joined(separator: " | "))
            engine p99 / reference p99: \(String(format: "%.2f", engine.latencies.p99 / reference.latencies.p99))
            station lock share: \(share.description)
            """)
    }

    private struct Result {
        var latencies: BenchLatencies
        var requests: Int
        var elapsed: Duration
        var rate: String {
            String(format: "%.0f", Double(requests) / elapsed.inSeconds)
        }
    }

    /// Every driver on a thread of its own with a keep-alive connection to its instance,
    /// repeating `operation(client, token, driver index)` until the time is up; latency is per operation.
    private func measure(tokens: [String], ports: [Int], requestsPerOperation: Int = 1,
                         _ operation: @escaping @Sendable (BenchHTTPClient, String, Int) throws -> Void) async throws -> Result {
        let duration = Duration.seconds(seconds)
        let start = ContinuousClock.now
        let perDriver = try await withThrowingTaskGroup(of: (BenchLatencies, Int).self) { group in
            for (index, token) in tokens.enumerated() {
                let port = ports[index % ports.count]
                group.addTask {
                    try await BenchThreads.dedicated(name: "driver-\(index)") {
                        let client = BenchHTTPClient(port: port)
                        var latencies = BenchLatencies()
                        var round = 0
                        let deadline = ContinuousClock.now + duration
                        while ContinuousClock.now < deadline {
                            let began = ContinuousClock.now
                            try operation(client, token, index)
                            latencies.append(ContinuousClock.now - began)
                            round += 1
                        }
                        return (latencies, round)
                    }
                }
            }
            return try await group.reduce(into: [(BenchLatencies, Int)]()) { $0.append($1) }
        }
        var all = BenchLatencies()
        for (latencies, _) in perDriver { all.append(contentsOf: latencies) }
        return Result(latencies: all, requests: perDriver.map(\.1).reduce(0, +) * requestsPerOperation, elapsed: ContinuousClock.now - start)
    }

    private func waitForPilesOn(_ pool: PostgresPool) async throws {
        for _ in 0..<200 {
            let on: Int = try await pool.query("SELECT count(*) AS n FROM piles WHERE status = 'on'").first!.decode("n")
            if on == 5 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchFailure("the simulated piles did not come on")
    }

    private static func driverToken(_ index: Int, port: Int) async throws -> String {
        try await BenchThreads.blocking {
            let client = BenchHTTPClient(port: port)
            let name = "bench-driver-\(index)"
            _ = try client.post("/u/register", form: [("username", name), ("password", password), ("battery_capacity", "100")])
            guard let token = try client.post("/u/login", form: [("username", name), ("password", password)]).json?["token"] as? String else {
                throw BenchFailure("driver login failed")
            }
            return token
        }
    }

    private static func expectAnswer(_ reply: BenchHTTPClient.Reply) throws {
        guard reply.status == 200, reply.json?["code"] != nil else { throw BenchFailure("unexpected reply: \(reply.text)") }
    }

    private static func expectSuccess(_ reply: BenchHTTPClient.Reply) throws {
        guard reply.json?["code"] as? Int == 200 else { throw BenchFailure("request failed: \(reply.text)") }
    }
}

/// Samples `pg_stat_activity` while the engine side runs: of the instances' backends busy
/// on a statement, the share waiting for the station's advisory lock.
actor LockSampler {
    struct Share: CustomStringConvertible {
        var waiting = 0
        var busy = 0
        var description: String {
            busy == 0 ? "no samples"
                : String(format: "%.1f %% of busy backend samples wait for the station lock (%d of %d)",
                         100 * Double(waiting) / Double(busy), waiting, busy)
        }
    }

    let pool: PostgresPool
    private var share = Share()

    init(pool: PostgresPool) { self.pool = pool }

    func run() async -> Share {
        while !Task.isCancelled {
            if let row = try? await pool.query("""
                SELECT count(*) FILTER (WHERE wait_event_type = 'Lock' AND wait_event = 'advisory') AS waiting,
                       count(*) FILTER (WHERE state = 'active') AS busy
                FROM pg_stat_activity WHERE application_name = 'chargepile' AND pid <> pg_backend_pid()
                """).first {
                share.waiting += (try? row.decode("waiting", as: Int.self)) ?? 0
                share.busy += (try? row.decode("busy", as: Int.self)) ?? 0
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return share
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
