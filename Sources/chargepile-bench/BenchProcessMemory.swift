import Foundation
import LocalCluster
#if canImport(Glibc)
import Glibc
#endif

extension ServeProcess {
    /// Resident memory of the server process, from /proc/<pid>/status.
    func memory() throws -> BenchProcessMemory { try BenchProcessMemory(pid: pid) }
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
