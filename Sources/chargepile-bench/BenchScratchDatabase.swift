import EmbeddedPostgres
import Foundation
import PostgresClient

/// A database of a benchmark's own, dropped and created empty on each run, on the server
/// of `--database-url`, else `DATABASE_URL`, else the embedded one (`DatabaseLocation`).
/// Children then start on an empty database, so the passwords in their environment are
/// the ones first start stores.
struct BenchScratchDatabase {
    /// Conninfo of the scratch database.
    let conninfo: String
    let location: DatabaseLocation

    static func recreate(_ name: String, serverURL: String?) async throws -> BenchScratchDatabase {
        var environment = ProcessInfo.processInfo.environment
        if let serverURL, !serverURL.isEmpty { environment["DATABASE_URL"] = serverURL }
        let location = try await BenchThreads.blocking { [environment] in try DatabaseLocation.resolve(environment: environment) }
        do {
            let maintenance = try await PostgresConnection.connect(location.url, overrides: ["dbname": "postgres"])
            do {
                // Names are constants of the benchmarks: no user text reaches this DDL.
                try await maintenance.unsafeSimpleQuery("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
                try await maintenance.unsafeSimpleQuery("CREATE DATABASE \(name)")
            } catch {
                await maintenance.close()
                throw error
            }
            await maintenance.close()
            return BenchScratchDatabase(
                conninfo: try PostgresConnectionString.keywordValue(location.url, overrides: ["dbname": name]), location: location)
        } catch {
            location.stop()
            throw error
        }
    }

    /// Stops the embedded server if this process started it.
    func stop() { location.stop() }
}
