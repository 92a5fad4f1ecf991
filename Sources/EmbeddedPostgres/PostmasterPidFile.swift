import Foundation

/// The facts PostgreSQL writes to <data>/postmaster.pid while it runs.
struct PostmasterPidFile {
    var pid: Int32
    var port: Int
    /// "starting", "ready", "stopping" or "standby" (line 8), when written yet.
    var status: String?

    static func read(dataDirectory: String) -> PostmasterPidFile? {
        guard let text = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8) else {
            return nil
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard lines.count >= 4, let pid = Int32(lines[0]), let port = Int(lines[3]) else { return nil }
        return PostmasterPidFile(pid: pid, port: port, status: lines.count >= 8 ? lines[7] : nil)
    }

    /// The postmaster process is alive (a reused PID of another program does not count).
    var isProcessAlive: Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let command = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8) else {
            return true  // no /proc: trust kill()
        }
        return command.hasPrefix("postgres") || command.hasPrefix("postmaster")
    }
}
