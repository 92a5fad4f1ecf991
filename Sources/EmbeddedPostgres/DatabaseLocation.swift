import Foundation

/// Where chargepile's database is: `DATABASE_URL` (any libpq string or URI) when set, otherwise
/// a private PostgreSQL under `./.chargepile/` (or `CHARGEPILE_DATA_DIR`), started on demand.
///
/// As root the embedded server runs as the `postgres` user, which must be able to reach its
/// folder. When the default folder is out of its reach (a clone in `/root`), the server lives
/// in `/var/lib/chargepile/<the folder's path>/` instead, and `notice` says so.
public struct DatabaseLocation: Sendable {
    public var url: String
    /// The embedded server, when there is no `DATABASE_URL`.
    public var embedded: EmbeddedPostgres?
    /// Set when this process started the embedded server, so it stops it again.
    public var startedEmbedded: Bool
    /// Why the embedded server is not in its default folder, if it is not.
    public var notice: String?

    public static let databaseName = "chargepile"
    static let fallbackRoot = "/var/lib/chargepile"

    public static func resolve(
        database: String = databaseName, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> DatabaseLocation {
        if let url = environment["DATABASE_URL"], !url.isEmpty {
            return DatabaseLocation(url: url, embedded: nil, startedEmbedded: false, notice: nil)
        }
        let (directory, notice) = try embeddedDataDirectory(environment: environment)
        let embedded = EmbeddedPostgres(dataDirectory: directory, extraSettings: try extraSettings(environment: environment))
        let wasRunning = embedded.isRunning
        _ = try embedded.start()
        try embedded.createDatabaseIfMissing(database)
        return DatabaseLocation(
            url: embedded.conninfo(database: database), embedded: embedded, startedEmbedded: !wasRunning, notice: notice)
    }

    /// `<CHARGEPILE_DATA_DIR or ./.chargepile>/postgres`, unless that is out of the postgres user's reach
    /// as root and no folder was configured.
    static func embeddedDataDirectory(environment: [String: String]) throws -> (String, notice: String?) {
        if let configured = environment["CHARGEPILE_DATA_DIR"], !configured.isEmpty {
            return (URL(fileURLWithPath: configured).appendingPathComponent("postgres").standardizedFileURL.path, nil)
        }
        let root = URL(fileURLWithPath: ".chargepile").standardizedFileURL.path
        guard CommandRunner.isRoot, !(try EmbeddedPostgres.isReachableByPostgresUser(root)) else {
            return (root + "/postgres", nil)
        }
        let folder = FileManager.default.currentDirectoryPath.split(separator: "/").joined(separator: "-")
        let fallback = fallbackRoot + "/" + (folder.isEmpty ? "root" : folder) + "/postgres"
        return (fallback, "the postgres user cannot reach \(root), so the embedded PostgreSQL lives in \(fallback) "
                    + "(set CHARGEPILE_DATA_DIR to choose another folder)")
    }

    /// `CHARGEPILE_POSTGRES_SETTINGS`: `postgresql.conf` lines for the embedded server, separated by `;`.
    /// A line that is not `name = value` is refused here rather than left for PostgreSQL to refuse at start.
    static func extraSettings(environment: [String: String]) throws -> [String] {
        let lines = (environment["CHARGEPILE_POSTGRES_SETTINGS"] ?? "").split(separator: ";")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for line in lines {
            let name = line.prefix { $0 != "=" }.trimmingCharacters(in: .whitespaces)
            guard line.contains("="), !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }),
                  !line.contains(where: \.isNewline)
            else { throw EmbeddedPostgresError("CHARGEPILE_POSTGRES_SETTINGS: \"\(line)\" is not a `name = value` setting") }
        }
        return lines
    }

    /// Stops the embedded server if this process started it.
    public func stop() {
        if startedEmbedded { try? embedded?.stop() }
    }
}
