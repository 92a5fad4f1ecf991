import Foundation

/// Runs a command to completion, optionally as the `postgres` user (PostgreSQL refuses
/// to run as root), and collects its combined output.
///
/// posix_spawn + waitpid rather than Foundation's Process: `pg_ctl start` leaves a
/// daemon behind, and Process on Linux can wait forever for a child whose
/// descendants inherited its bookkeeping descriptors. Output goes through a temporary
/// file, not a pipe, for the same reason; and the child gets no descriptor of ours.
/// The child also starts with no blocked signals: Dispatch's threads block most of them,
/// and a pgbench that inherits a blocked SIGALRM never ends its `-T` run.
struct CommandRunner: Sendable {
    struct Output: Sendable {
        var status: Int32
        var text: String
        var succeeded: Bool { status == 0 }
    }

    static var isRoot: Bool { geteuid() == 0 }

    /// Run as `postgres` through runuser when we are root; otherwise run as ourselves.
    var asPostgresUser = false

    @discardableResult
    func run(_ executable: String, _ arguments: [String], input: String? = nil) throws -> Output {
        var command = [executable] + arguments
        if asPostgresUser && Self.isRoot {
            command = [try Self.runuser(), "-u", "postgres", "--"] + command
        }
        let outputFile = try TemporaryFile()
        defer { outputFile.remove() }
        let inputFile = try TemporaryFile(contents: input ?? "")
        defer { inputFile.remove() }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, inputFile.path, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputFile.path, O_WRONLY | O_APPEND, 0)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        _ = Self.addCloseFrom?(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command[0], &actions, &attributes, argv, environ)
        guard spawned == 0 else {
            throw EmbeddedPostgresError("cannot run \(command[0]): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw EmbeddedPostgresError("waitpid failed for \(command[0]): errno \(errno)") }
        }
        // WIFEXITED / WEXITSTATUS are macros Swift does not import.
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Output(status: exitStatus, text: outputFile.contents())
    }

    /// glibc 2.34's posix_spawn_file_actions_addclosefrom_np, which Swift's Glibc module
    /// does not declare; without it the child may inherit descriptors that are not close-on-exec.
    private static let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
            return nil
        }
        return unsafeBitCast(
            symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    private static func runuser() throws -> String {
        for candidate in ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser", "/bin/runuser"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw EmbeddedPostgresError("running as root needs `runuser` (util-linux) to start PostgreSQL as the postgres user")
    }
}

/// A file under the temporary directory, readable by the postgres user too.
private struct TemporaryFile {
    let path: String

    init(contents: String = "") throws {
        var template = Array((NSTemporaryDirectory() + "/chargepile-command-XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw EmbeddedPostgresError("cannot create a temporary file: errno \(errno)") }
        fchmod(descriptor, 0o666)
        let bytes = Array(contents.utf8)
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    func contents() -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    func remove() {
        unlink(path)
    }
}
