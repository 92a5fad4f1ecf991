import Foundation

/// A private PostgreSQL server in a data directory of our own, for `serve` without a
/// database URL, for the benchmarks and for tests.
///
/// Several processes may share one data directory: `start()` reuses a server already
/// running there (and its port), and a lock file next to the directory serialises setup.
public struct EmbeddedPostgres: Sendable {
    /// The data directory, as an absolute path.
    public let dataDirectory: String
    /// The port asked for; nil picks a free loopback port (and keeps it across restarts).
    public let requestedPort: Int?
    /// fsync, synchronous_commit and full_page_writes off: for throwaway test servers only.
    public let fastAndUnsafe: Bool
    /// The test suite runs hundreds of instances at once on one server; a deployment needs far fewer.
    public let maxConnections: Int
    /// Further `postgresql.conf` lines (`name = value`), written after ours, so they win: logging every
    /// statement for a DBA, say (`CHARGEPILE_POSTGRES_SETTINGS`). Taken at the server's next start.
    public let extraSettings: [String]

    static let settingsFile = "chargepile.conf"
    private static let startTimeoutSeconds = 60

    public init(dataDirectory: String, port: Int? = nil, fastAndUnsafe: Bool = false, maxConnections: Int = 500,
                extraSettings: [String] = []) {
        self.maxConnections = maxConnections
        self.extraSettings = extraSettings
        let url = URL(fileURLWithPath: dataDirectory, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        self.dataDirectory = url.standardizedFileURL.path
        self.requestedPort = port
        self.fastAndUnsafe = fastAndUnsafe
    }

    /// The running server's port, else the requested or last used one.
    public var port: Int? {
        if let running = PostmasterPidFile.read(dataDirectory: dataDirectory), running.isProcessAlive {
            return running.port
        }
        return requestedPort ?? lastUsedPort
    }

    public var isRunning: Bool {
        PostmasterPidFile.read(dataDirectory: dataDirectory)?.isProcessAlive ?? false
    }

    /// A libpq keyword/value string for one database of this server.
    public func conninfo(database: String = "postgres") -> String {
        Self.conninfo(port: port ?? 5432, database: database)
    }

    /// Starts the server (initialising the directory on first use) or reuses the one
    /// already running on it, waits until it accepts connections, and returns the
    /// conninfo of its `postgres` database.
    @discardableResult
    public func start() throws -> String {
        let binaries = try PostgresBinaries.directory()
        let parent = (dataDirectory as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        return try FileLock.withLock(at: dataDirectory + ".lock") {
            if let running = try waitForRunningServer() {
                return Self.conninfo(port: running.port, database: "postgres")
            }
            try initializeIfNeeded(binaries: binaries)
            var attempt = 0
            while true {
                let port = try choosePort(avoidLastUsed: attempt > 0)
                try writeSettings(port: port)
                do {
                    try startServer(binaries: binaries)
                    return Self.conninfo(port: port, database: "postgres")
                } catch let error as StartFailure where error.portInUse && requestedPort == nil && attempt < 3 {
                    attempt += 1  // another program took the port between our check and the bind
                } catch let error as StartFailure {
                    throw EmbeddedPostgresError(error.message)
                }
            }
        }
    }

    /// Stops the server (fast mode: sessions are disconnected); no error when none runs.
    public func stop() throws {
        guard let running = PostmasterPidFile.read(dataDirectory: dataDirectory), running.isProcessAlive else { return }
        let binaries = try PostgresBinaries.directory()
        let output = try CommandRunner(asPostgresUser: true).run(
            binaries + "/pg_ctl", ["stop", "-D", dataDirectory, "-m", "fast", "-w", "-t", "\(Self.startTimeoutSeconds)"])
        if !output.succeeded && isRunning {
            throw EmbeddedPostgresError("pg_ctl stop failed: \(output.text)")
        }
    }

    /// Stops and starts the server on the same port.
    @discardableResult
    public func restart() throws -> String {
        let port = self.port
        try stop()
        return try EmbeddedPostgres(dataDirectory: dataDirectory, port: port ?? requestedPort, fastAndUnsafe: fastAndUnsafe,
                                    maxConnections: maxConnections, extraSettings: extraSettings).start()
    }

    /// CREATE DATABASE unless it exists, through psql (no dependency on PostgresClient).
    public func createDatabaseIfMissing(_ name: String) throws {
        guard let running = PostmasterPidFile.read(dataDirectory: dataDirectory), running.isProcessAlive else {
            throw EmbeddedPostgresError("the server in \(dataDirectory) is not running; call start() first")
        }
        let psql = try PostgresBinaries.path(of: "psql")
        let script = """
            SELECT format('CREATE DATABASE %I', :'dbname')
            WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'dbname') \\gexec

            """
        let output = try CommandRunner().run(psql, [
            "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "dbname=\(name)",
            "-h", "127.0.0.1", "-p", "\(running.port)", "-U", "postgres", "-d", "postgres",
        ], input: script)
        // A concurrent creator may win the race between our check and CREATE.
        if !output.succeeded && !output.text.contains("already exists") {
            throw EmbeddedPostgresError("cannot create database \(name): \(output.text)")
        }
    }

    // MARK: - Steps

    static func conninfo(port: Int, database: String) -> String {
        let simple = !database.isEmpty && database.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
        let quoted = simple
            ? database
            : "'" + database.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
        return "host=127.0.0.1 port=\(port) user=postgres dbname=\(quoted)"
    }

    /// A live server's pid file once it is ready; nil when none runs (a stale file is removed).
    private func waitForRunningServer() throws -> PostmasterPidFile? {
        let deadline = Date().addingTimeInterval(Double(Self.startTimeoutSeconds))
        while Date() < deadline {
            guard let pidFile = PostmasterPidFile.read(dataDirectory: dataDirectory) else { return nil }
            guard pidFile.isProcessAlive else {
                // Left by a crash; postgres would refuse to start if the PID now belongs to another program.
                try? FileManager.default.removeItem(atPath: dataDirectory + "/postmaster.pid")
                return nil
            }
            if pidFile.status == "ready" && LoopbackPort.isAccepting(pidFile.port) { return pidFile }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw EmbeddedPostgresError(
            "a server is running on \(dataDirectory) but did not become ready within \(Self.startTimeoutSeconds) s; "
                + "see \(dataDirectory)/postgres.log")
    }

    private func initializeIfNeeded(binaries: String) throws {
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: dataDirectory + "/PG_VERSION") { return }
        if let contents = try? fileManager.contentsOfDirectory(atPath: dataDirectory), !contents.isEmpty {
            throw EmbeddedPostgresError(
                "\(dataDirectory) exists, is not empty and is not a PostgreSQL data directory")
        }
        try fileManager.createDirectory(
            atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if CommandRunner.isRoot { try handOverToPostgresUser() }
        var arguments = ["-D", dataDirectory, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"]
        if fastAndUnsafe { arguments.append("--no-sync") }
        let output = try CommandRunner(asPostgresUser: true).run(binaries + "/initdb", arguments)
        guard output.succeeded else {
            throw EmbeddedPostgresError("initdb failed in \(dataDirectory): \(output.text)")
        }
        let include = "\n# Settings chargepile's EmbeddedPostgres rewrites at every start.\n"
            + "include_if_exists = '\(Self.settingsFile)'\n"
        let config = try FileHandle(forWritingTo: URL(fileURLWithPath: dataDirectory + "/postgresql.conf"))
        defer { try? config.close() }
        try config.seekToEnd()
        try config.write(contentsOf: Data(include.utf8))
    }

    /// As root: the data directory must belong to `postgres`, and `postgres` must be able
    /// to reach it through every parent directory.
    private func handOverToPostgresUser() throws {
        let chown = try CommandRunner().run("/bin/chown", ["postgres:postgres", dataDirectory])
        guard chown.succeeded else {
            throw EmbeddedPostgresError(
                "cannot hand \(dataDirectory) to the postgres user (\(chown.text.trimmingCharacters(in: .whitespacesAndNewlines))); "
                    + "is PostgreSQL installed (apt-get install -y postgresql)?")
        }
        let probe = CommandRunner(asPostgresUser: true)
        if try probe.run("/usr/bin/test", ["-w", dataDirectory, "-a", "-x", dataDirectory]).succeeded { return }
        var blocked = dataDirectory
        var path = ""
        for component in dataDirectory.split(separator: "/") {
            path += "/" + component
            if !(try probe.run("/usr/bin/test", ["-x", path]).succeeded) {
                blocked = path
                break
            }
        }
        throw EmbeddedPostgresError(
            "the postgres user cannot reach \(dataDirectory): \(blocked) is not traversable for it; "
                + "run `chmod o+x \(blocked)` or choose another folder with CHARGEPILE_DATA_DIR")
    }

    /// Whether the `postgres` user can traverse every folder down to `path` (as far as it exists).
    static func isReachableByPostgresUser(_ path: String) throws -> Bool {
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/" + component
            guard FileManager.default.fileExists(atPath: prefix) else { break }
            if !(try CommandRunner(asPostgresUser: true).run("/usr/bin/test", ["-x", prefix]).succeeded) { return false }
        }
        return true
    }

    private var lastUsedPort: Int? {
        guard let text = try? String(contentsOfFile: dataDirectory + "/" + Self.settingsFile, encoding: .utf8) else {
            return nil
        }
        for line in text.split(separator: "\n") where line.hasPrefix("port = ") {
            return Int(line.dropFirst("port = ".count))
        }
        return nil
    }

    private func choosePort(avoidLastUsed: Bool) throws -> Int {
        if let requestedPort { return requestedPort }
        if !avoidLastUsed, let lastUsedPort, !LoopbackPort.isAccepting(lastUsedPort) { return lastUsedPort }
        return try LoopbackPort.free()
    }

    private func writeSettings(port: Int) throws {
        // The Unix socket path must fit in sockaddr_un (107 bytes); TCP is enough without it.
        let socketDirectory = dataDirectory.utf8.count + 16 < 107 ? dataDirectory : ""
        var lines = [
            "listen_addresses = '127.0.0.1'",
            "port = \(port)",
            "unix_socket_directories = '\(socketDirectory.replacingOccurrences(of: "'", with: "''"))'",
            "max_connections = \(maxConnections)",
        ]
        if fastAndUnsafe {
            lines += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        }
        lines += extraSettings
        let path = dataDirectory + "/" + Self.settingsFile
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)
    }

    private struct StartFailure: Error {
        var message: String
        var portInUse: Bool
    }

    private func startServer(binaries: String) throws {
        let logPath = dataDirectory + "/postgres.log"
        let logOffset = (try? FileManager.default.attributesOfItem(atPath: logPath)[.size] as? UInt64) ?? 0
        let output = try CommandRunner(asPostgresUser: true).run(binaries + "/pg_ctl", [
            "start", "-w", "-t", "\(Self.startTimeoutSeconds)", "-D", dataDirectory, "-l", logPath,
        ])
        if output.succeeded, try waitForRunningServer() != nil { return }
        let log = Self.tail(of: logPath, from: logOffset)
        throw StartFailure(
            message: "pg_ctl start failed in \(dataDirectory): \(output.text)\n\(log)",
            portInUse: log.contains("could not bind") || log.contains("Address already in use")
                || log.contains("could not create any TCP/IP sockets")
        )
    }

    private static func tail(of path: String, from offset: UInt64) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "" }
        defer { try? handle.close() }
        try? handle.seek(toOffset: offset)
        let data = (try? handle.readToEnd()) ?? Data()
        return String(decoding: data.suffix(4000), as: UTF8.self)
    }
}
