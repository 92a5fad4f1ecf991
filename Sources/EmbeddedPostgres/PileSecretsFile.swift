import Foundation

/// The default station's pile passwords as generated at the first start of the embedded database,
/// kept in the data folder beside it (`./.chargepile/pile-secrets`, or under `CHARGEPILE_DATA_DIR`),
/// readable and writable by its owner only (mode 0600). `chargepile sim` reads it when it is given
/// no password, so the five piles can be driven without anyone copying their secrets around or
/// putting them on a command line.
///
/// A line per pile, `<pile id> <password>`; blank lines and lines starting with `#` are comments.
public struct PileSecretsFile: Sendable, Equatable {
    public static let fileName = "pile-secrets"

    public let path: String

    public init(path: String) {
        let url = URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        self.path = url.standardizedFileURL.path
    }

    /// `<CHARGEPILE_DATA_DIR or ./.chargepile>/pile-secrets`: the folder `serve` keeps its embedded
    /// database under (even when, as root, the server itself has to live elsewhere; see `DatabaseLocation`).
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> PileSecretsFile {
        let folder = environment["CHARGEPILE_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? ".chargepile"
        return PileSecretsFile(path: (folder as NSString).appendingPathComponent(fileName))
    }

    public var exists: Bool { FileManager.default.fileExists(atPath: path) }

    /// The passwords by pile id.
    public func read() throws -> [Int: String] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw PileSecretsFileError("cannot read \(path): \(error.localizedDescription)")
        }
        var secrets: [Int: String] = [:]
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = trimmed.split(separator: " ", maxSplits: 1)
            guard fields.count == 2, let pileID = Int(fields[0]), pileID > 0,
                  case let password = fields[1].trimmingCharacters(in: .whitespaces), !password.isEmpty
            else {
                throw PileSecretsFileError("\(path), line \(number + 1): expected `<pile id> <password>`")
            }
            secrets[pileID] = password
        }
        return secrets
    }

    /// Replaces the file with these passwords: written to a new file created with mode 0600 (never
    /// readable by others, not even for a moment), then renamed over the old one.
    public func write(_ secrets: [Int: String], comment: String? = nil) throws {
        let folder = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(
                atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw PileSecretsFileError("cannot create \(folder): \(error.localizedDescription)")
        }
        var text = "# chargepile: the piles' passwords, one line per pile: <pile id> <password>\n"
        if let comment { text += comment.split(separator: "\n").map { "# \($0)\n" }.joined() }
        for pileID in secrets.keys.sorted() { text += "\(pileID) \(secrets[pileID]!)\n" }

        let temporary = path + ".new-\(getpid())"
        unlink(temporary)  // left by a process with this pid that died mid-write
        let descriptor = open(temporary, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw PileSecretsFileError("cannot create \(temporary): errno \(errno)") }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        do {
            try handle.write(contentsOf: Data(text.utf8))
            try handle.synchronize()
            try handle.close()
        } catch {
            unlink(temporary)
            throw PileSecretsFileError("cannot write \(temporary): \(error.localizedDescription)")
        }
        guard rename(temporary, path) == 0 else {
            let error = errno
            unlink(temporary)
            throw PileSecretsFileError("cannot rename \(temporary) to \(path): errno \(error)")
        }
    }

    /// Sets one pile's password in the file, keeping the others.
    public func update(pileID: Int, password: String) throws {
        var secrets = try read()
        secrets[pileID] = password
        try write(secrets)
    }
}

/// Why the pile secrets file could not be read or written.
public struct PileSecretsFileError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
