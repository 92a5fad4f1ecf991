import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One `chargepile serve` child of this very binary on a free loopback port, for the
/// benchmarks. Its output goes to a log file; it is stopped (TERM, then KILL) by `stop()`.
final class BenchServerProcess: Sendable {
    let process: Process
    let port: Int
    let logFile: String
    /// The `chargepile serve` process itself: `process` unless a profiler wraps it.
    let pid: Int32
    var url: String { "http://127.0.0.1:\(port)" }

    private init(process: Process, port: Int, logFile: String, pid: Int32) {
        self.process = process
        self.port = port
        self.logFile = logFile
        self.pid = pid
    }

    /// This executable: the benchmark starts servers of the same build it is.
    static var binary: String {
        Bundle.main.executableURL?.path ?? CommandLine.arguments[0]
    }

    /// Starts `serve` through `sh -c 'ulimit -n <hard limit>; exec …'` (so the server may
    /// hold as many sockets as the system lets it) and waits until `/healthz` answers.
    /// `prefix` runs it under a profiler (`perf record -g -o perf-{name}.data`, `heaptrack -o …`);
    /// `{name}` in it becomes `name`.
    static func start(
        name: String, databaseURL: String, environment extra: [String: String], logDirectory: URL,
        prefix: String? = nil, arguments: [String] = [], timeout: Duration = .seconds(60)
    ) async throws -> BenchServerProcess {
        let port = try freeLoopbackPort()
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
        while true {
            guard process.isRunning else {
                throw BenchFailure("\(name) exited (status \(process.terminationStatus)) before answering; see \(logFile)")
            }
            let healthy = try await BenchThreads.blocking { (try? BenchHTTPClient(port: port, timeoutSeconds: 2).get("/healthz"))?.status == 200 }
            if healthy {
                let pid = wrapper.isEmpty ? process.processIdentifier : (servingProcess(port: port) ?? process.processIdentifier)
                return BenchServerProcess(process: process, port: port, logFile: logFile, pid: pid)
            }
            guard ContinuousClock.now < deadline else {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                throw BenchFailure("\(name) did not answer /healthz within \(timeout); see \(logFile)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
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

    /// SIGTERM, then SIGKILL after `grace`; returns once the process is gone (and so,
    /// under a profiler, the profiler too).
    func stop(grace: Duration = .seconds(10)) {
        guard process.isRunning else { return }
        if pid != process.processIdentifier { kill(pid, SIGTERM) }
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while process.isRunning, ContinuousClock.now < deadline { usleep(20_000) }
        if process.isRunning {
            kill(pid, SIGKILL)
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
    }

    /// Resident memory of the server process, from /proc/<pid>/status.
    func memory() throws -> BenchProcessMemory { try BenchProcessMemory(pid: pid) }

    /// A port the kernel just handed out on 127.0.0.1 (closed again for the child to bind).
    static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchFailure("socket() failed: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw BenchFailure("bind() failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// VmRSS and RssAnon of a process, in KiB.
struct BenchProcessMemory {
    var residentKiB: Int
    var anonymousKiB: Int

    init(pid: Int32) throws {
        let text = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        func field(_ name: String) -> Int? {
            text.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                .flatMap { Int($0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "") }
        }
        guard let resident = field("VmRSS") else { throw BenchFailure("no VmRSS in /proc/\(pid)/status") }
        residentKiB = resident
        anonymousKiB = field("RssAnon") ?? 0
    }

    static var ofThisProcess: BenchProcessMemory {
        get throws { try BenchProcessMemory(pid: getpid()) }
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
