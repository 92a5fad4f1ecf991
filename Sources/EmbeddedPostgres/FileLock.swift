import Foundation

/// An exclusive flock(2) on a file, so several processes start one server at a time.
struct FileLock {
    static func withLock<Result>(at path: String, _ body: () throws -> Result) throws -> Result {
        let descriptor = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw EmbeddedPostgresError("cannot open lock file \(path): errno \(errno)") }
        defer { close(descriptor) }
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else { throw EmbeddedPostgresError("cannot lock \(path): errno \(errno)") }
        }
        defer { flock(descriptor, LOCK_UN) }
        return try body()
    }
}
