import EmbeddedPostgres
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One `chargepile serve` child process on a free loopback port, for the multi-process tests
/// and the benchmarks. Its output goes to a log file.
public final class ServeProcess: Sendable {
    public let port: Int
    public let logFile: String
    /// The `chargepile serve` process itself (not the profiler wrapping it, if any).
    public let pid: Int32
    public var url: String { "http://127.0.0.1:\(port)" }
    private let process: Process

    private init(process: Process, port: Int, logFile: String, pid: Int32) {
        self.process = process
        self.port = port
        self.logFile = logFile
        self.pid = pid
    }

    /// `$CHARGEPILE_BIN`, else the `chargepile` built next to this executable (the test bundle
    /// and `chargepile-bench` both live in the build folder of the product).
    public static var binary: String {
        if let path = ProcessInfo.processInfo.environment["CHARGEPILE_BIN"], !path.isEmpty { return path }
        let executable = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
        return executable.deletingLastPathComponent().appendingPathComponent("chargepile").path
    }

    /// Starts `serve` through `sh -c 'ulimit -n <hard limit>; exec …'` (so it may hold as many
    /// sockets as the system allows) and returns once it accepts connections. `prefix` runs it
    /// under a profiler (`perf record -g -o perf-{name}.data`); `{name}` in it becomes `name`.
    public static func start(
        name: String, databaseURL: String, environment extra: [String: String] = [:], logDirectory: URL,
        arguments: [String] = [], prefix: String? = nil, timeout: Duration = .seconds(60)
    ) async throws -> ServeProcess {
        let port = try LoopbackPort.free()
        let logFile = logDirectory.appendingPathComponent("\(name).log").path
        _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        let wrapper = (prefix ?? "").replacingOccurrences(of: "{name}", with: name).split(separator: " ").map(String.init)
        let command = wrapper + [binary, "serve", "--host", "127.0.0.1", "--port", "\(port)"] + arguments
        process.arguments = ["-c", #"ulimit -n "$(ulimit -H -n)" 2>/dev/null; exec "$0" "$@""#] + command
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = databaseURL
        environment["LOG_LEVEL"] = environment["LOG_LEVEL"] ?? "warning"
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        process.standardOutput = log
        process.standardError = log
        try process.run()

        let deadline = ContinuousClock.now + timeout
        while !LoopbackPort.isAccepting(port) {
            guard process.isRunning else {
                throw ServeProcessError("\(name) exited (status \(process.terminationStatus)) before listening; see \(logFile)")
            }
            guard ContinuousClock.now < deadline else {
                Glibc.kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                throw ServeProcessError("\(name) did not listen within \(timeout); see \(logFile)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let pid = wrapper.isEmpty ? process.processIdentifier : (servingProcess(port: port) ?? process.processIdentifier)
        return ServeProcess(process: process, port: port, logFile: logFile, pid: pid)
    }

    /// The process whose command line is `… serve … --port <port>` (found under a profiler).
    private static func servingProcess(port: Int) -> Int32? {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = Int32(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
            let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard arguments.first.map({ $0.hasSuffix("/chargepile") }) == true, arguments.contains("serve"),
                  let index = arguments.firstIndex(of: "--port"), index + 1 < arguments.count, arguments[index + 1] == "\(port)"
            else { continue }
            return pid
        }
        return nil
    }

    /// SIGKILL, as a crash would; returns once the process is gone.
    public func kill() {
        Glibc.kill(pid, SIGKILL)
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM (a graceful stop), then SIGKILL after `grace`; returns once the process is gone
    /// (and so, under a profiler, the profiler too).
    public func stop(grace: Duration = .seconds(10)) {
        guard process.isRunning else { return }
        if pid != process.processIdentifier { Glibc.kill(pid, SIGTERM) }
        Glibc.kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while process.isRunning, ContinuousClock.now < deadline { usleep(20_000) }
        if process.isRunning {
            Glibc.kill(pid, SIGKILL)
            Glibc.kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
    }
}

public struct ServeProcessError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
