import ArgumentParser
import EmbeddedPostgres
import Foundation

/// Where the database is: `DATABASE_URL` (any libpq string or URI) when set, otherwise
/// a private PostgreSQL under `./.chargepile/` (or `CHARGEPILE_DATA_DIR`), started on demand.
struct DatabaseLocation {
    var url: String
    /// Set when this process started the embedded server, so it stops it again.
    var startedEmbedded: EmbeddedPostgres?

    static let databaseName = "chargepile"

    static func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> DatabaseLocation {
        if let url = environment["DATABASE_URL"], !url.isEmpty {
            return DatabaseLocation(url: url, startedEmbedded: nil)
        }
        let root = environment["CHARGEPILE_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? ".chargepile"
        let directory = URL(fileURLWithPath: root).appendingPathComponent("postgres").standardizedFileURL.path
        let embedded = EmbeddedPostgres(dataDirectory: directory)
        let wasRunning = embedded.isRunning
        _ = try embedded.start()
        try embedded.createDatabaseIfMissing(databaseName)
        return DatabaseLocation(url: embedded.conninfo(database: databaseName), startedEmbedded: wasRunning ? nil : embedded)
    }

    func stop() {
        try? startedEmbedded?.stop()
    }
}
