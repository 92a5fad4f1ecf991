import ArgumentParser
import Dispatch
import EmbeddedPostgres
import Foundation
import PostgresClient

/// `chargepile bench db`: our libpq wrapper against `pgbench -S -M prepared`, on the same
/// database in the same run, at each client count.
struct BenchDatabase: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Point selects through PostgresPool against pgbench -S -M prepared, in one run.")

    @Option(help: "Measured seconds per side and client count.")
    var seconds: Int = 10

    @Option(help: "Comma-separated client counts.")
    var clients: String = "1,4"

    @Option(help: "libpq connection string or URI (default: DATABASE_URL, else the embedded server).")
    var databaseURL: String?

    @Option(help: "pgbench scale factor for the dataset (100,000 accounts per unit).")
    var scale: Int = 1

    @Option(help: "Alternate the two sides this many times per client count (each side still runs --seconds in all), so background load hits both alike.")
    var rounds: Int = 5

    @Flag(help: "Also measure tasks that query a connection from the cooperative pool, outside withConnection (a thread hop there and back per query).")
    var compareHop = false

    static let databaseName = "chargepile_bench"

    func validate() throws {
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        guard rounds > 0, seconds % rounds == 0 else {
            throw ValidationError("--rounds must be positive and divide --seconds (pgbench -T takes whole seconds)")
        }
        guard !clientCounts.isEmpty, clientCounts.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--clients must be a comma-separated list of positive counts, e.g. 1,4")
        }
    }

    private var clientCounts: [Int] {
        clients.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }

    func run() async throws {
        let conninfo = try await databaseConninfo()
        let pgbench = try PostgresBinaries.path(of: "pgbench")
        print("Preparing pgbench dataset (scale \(scale)) in \(Self.databaseName)…")
        _ = try await Self.runProgram(pgbench, ["-i", "-q", "-s", "\(scale)", conninfo])

        var results: [(clients: Int, ours: Double, pgbench: Double, hopping: Double?)] = []
        let slice = seconds / rounds
        for count in clientCounts {
            let pool = PostgresPool(conninfo: conninfo, maxConnections: count, acquireTimeout: .seconds(30))
            var ours = 0.0
            var reference = 0.0
            var hopping = 0.0
            for _ in 0..<rounds {
                ours += try await measureWrapper(clients: count, seconds: slice) { body in
                    try await pool.withConnection { connection in try await body(connection) }
                }
                reference += try await measurePgbench(pgbench, conninfo: conninfo, clients: count, seconds: slice)
                if compareHop {
                    hopping += try await measureWrapper(clients: count, seconds: slice) { body in
                        let connection = try await PostgresConnection.connect(conninfo)
                        do {
                            let count = try await body(connection)
                            await connection.close()
                            return count
                        } catch {
                            await connection.close()
                            throw error
                        }
                    }
                }
            }
            await pool.close()
            let result = (
                clients: count, ours: ours / Double(rounds), pgbench: reference / Double(rounds),
                hopping: compareHop ? hopping / Double(rounds) : nil
            )
            results.append(result)
            print("  \(count) client(s): ours \(Self.format(result.ours)) tx/s, pgbench \(Self.format(result.pgbench)) tx/s"
                + (result.hopping.map { ", ours with a hop per query \(Self.format($0)) tx/s" } ?? ""))
        }

        print("")
        print("Point select (SELECT abalance FROM pgbench_accounts WHERE aid = $1): \(seconds) s per side "
            + "in \(rounds) alternating round(s), scale \(scale)")
        print("clients | ours (tx/s) | pgbench -S -M prepared (tx/s) | ours/pgbench"
            + (compareHop ? " | hop per query (tx/s) | hop/pgbench" : ""))
        print("------- | ----------- | ----------------------------- | ------------"
            + (compareHop ? " | -------------------- | -----------" : ""))
        for result in results {
            var line = "\(pad(result.clients, 7)) | \(pad(Self.format(result.ours), 11)) | "
                + "\(pad(Self.format(result.pgbench), 29)) | \(pad(Self.ratio(result.ours, result.pgbench), 12))"
            if let hopping = result.hopping {
                line += " | \(pad(Self.format(hopping), 20)) | \(Self.ratio(hopping, result.pgbench))"
            }
            print(line)
        }
    }

    /// N tasks, each holding one connection lent by `lend`, running the prepared point select.
    private func measureWrapper(
        clients: Int, seconds: Int,
        lend: @escaping @Sendable (_ body: (PostgresConnection) async throws -> Int) async throws -> Int
    ) async throws -> Double {
        let accounts = 100_000 * scale
        let clock = ContinuousClock()
        // Connections open and statements get prepared during the warm-up, as pgbench's
        // figure also excludes its connection time.
        let start = clock.now + .milliseconds(500)
        let end = start + .seconds(seconds)
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<clients {
                group.addTask {
                    try await lend { connection in
                        // Cheap like pgbench's PRNG: the system generator is a syscall per number.
                        var random = SplitMix64(seed: UInt64.random(in: 1...UInt64.max))
                        var count = 0
                        while true {
                            let aid = Int.random(in: 1...accounts, using: &random)
                            let rows = try await connection.query(
                                "SELECT abalance FROM pgbench_accounts WHERE aid = \(aid)")
                            _ = try rows[0].decode(at: 0, as: Int.self)
                            let now = clock.now
                            if now >= end { return count }
                            if now >= start { count += 1 }
                        }
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        return Double(total) / Double(seconds)
    }

    private func measurePgbench(_ pgbench: String, conninfo: String, clients: Int, seconds: Int) async throws -> Double {
        let output = try await Self.runProgram(pgbench, [
            "-S", "-M", "prepared", "-n", "-c", "\(clients)", "-j", "\(clients)", "-T", "\(seconds)", conninfo,
        ])
        // "tps = 12345.678901 (without initial connection time)"
        for line in output.split(separator: "\n") where line.hasPrefix("tps = ") {
            if let value = line.dropFirst("tps = ".count).split(separator: " ").first.flatMap({ Double($0) }) {
                return value
            }
        }
        throw ValidationError("could not read tps from pgbench's output:\n\(output)")
    }

    private func databaseConninfo() async throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let url = databaseURL ?? environment["DATABASE_URL"], !url.isEmpty {
            return url
        }
        // The same embedded server `serve` uses (see DatabaseLocation), with a database of its own.
        let root = environment["CHARGEPILE_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? ".chargepile"
        let directory = URL(fileURLWithPath: root).appendingPathComponent("postgres").standardizedFileURL.path
        return try await Self.blocking {
            let embedded = EmbeddedPostgres(dataDirectory: directory)
            try embedded.start()
            try embedded.createDatabaseIfMissing(Self.databaseName)
            return embedded.conninfo(database: Self.databaseName)
        }
    }

    private static func runProgram(_ path: String, _ arguments: [String]) async throws -> String {
        try await blocking { try PostgresBinaries.run(path, arguments) }
    }

    /// Keeps blocking work (server start-up, child processes) off the cooperative pool.
    private static func blocking<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Swift.Result { try body() }) }
        }
    }

    private static func ratio(_ value: Double, _ reference: Double) -> String {
        String(format: "%.2f", value / reference)
    }

    private static func format(_ value: Double) -> String {
        String(format: "%.0f", value)
    }

    private func pad(_ value: Any, _ width: Int) -> String {
        let text = "\(value)"
        return text + String(repeating: " ", count: max(0, width - text.count))
    }
}

/// A tiny fast PRNG (SplitMix64) for picking benchmark keys.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
