import Dispatch
import EmbeddedPostgres
import Foundation
import PostgresClient
import Synchronization

/// Starts the test process's server exactly once, however many tests ask at the same time.
actor TestServerStarter {
    static let shared = TestServerStarter()

    /// Every test process's embedded server lives in <root>/<pid>-<random>/data.
    private static let root = "/tmp/chargepile-tests"

    private var starting: Task<TestPostgresServer, any Error>?

    func server() async throws -> TestPostgresServer {
        if let starting { return try await starting.value }
        let task = Task { try await Self.start() }
        starting = task
        return try await task.value
    }

    private static func start() async throws -> TestPostgresServer {
        if let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty {
            return TestPostgresServer(conninfo: try patient(url), embedded: nil)
        }
        // initdb and pg_ctl block for seconds: keep them off the cooperative pool.
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try startEmbedded() })
            }
        }
    }

    private static func startEmbedded() throws -> TestPostgresServer {
        try FileManager.default.createDirectory(
            atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        removeAbandonedServers()
        let directory = "\(root)/\(getpid())-\(UUID().uuidString.prefix(8).lowercased())"
        // Open to others so the postgres user (when we are root) can reach data/.
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let embedded = EmbeddedPostgres(dataDirectory: directory + "/data", fastAndUnsafe: true, maxConnections: 2000)
        let conninfo = try embedded.start()
        startedServer.withLock { $0 = (embedded, directory) }
        atexit { stopStartedServer() }
        return TestPostgresServer(conninfo: try patient(conninfo), embedded: embedded)
    }

    /// The wrapper's 2 s `connect_timeout` suits production; the suite opens dozens of databases
    /// and connections at once on two cores, where a connect can take longer (a CI run failed so).
    private static func patient(_ conninfo: String) throws -> String {
        try PostgresConnectionString.keywordValue(conninfo, overrides: ["connect_timeout": "10"])
    }

    /// Servers of test processes that died without their atexit handler (killed, crashed).
    private static func removeAbandonedServers() {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        for entry in entries {
            guard let pid = entry.split(separator: "-").first.flatMap({ Int32($0) }), pid != getpid() else { continue }
            if kill(pid, 0) == 0 || errno == EPERM { continue }
            let directory = "\(root)/\(entry)"
            try? EmbeddedPostgres(dataDirectory: directory + "/data").stop()
            try? FileManager.default.removeItem(atPath: directory)
        }
    }
}

private let startedServer = Mutex<(server: EmbeddedPostgres, directory: String)?>(nil)

private func stopStartedServer() {
    guard let started = startedServer.withLock({ $0 }) else { return }
    try? started.server.stop()
    try? FileManager.default.removeItem(atPath: started.directory)
}
