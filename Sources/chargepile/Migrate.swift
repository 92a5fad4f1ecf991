import ArgumentParser
import EmbeddedPostgres
import ChargingStore
import PostgresClient

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply the SQL migrations of sql/ (serve does this too).")

    func run() async throws {
        let database = try DatabaseLocation.resolve()
        defer { database.stop() }
        database.announce()
        let pool = PostgresPool(conninfo: database.url, maxConnections: 1, logger: makeLogger("migrate"))
        let migrator = SchemaMigrator()
        let applied = try await migrator.migrate(pool)
        print(applied.isEmpty ? "schema is up to date (version \(migrator.latestVersion))" : "applied migrations \(applied)")
        await pool.close()
    }
}
