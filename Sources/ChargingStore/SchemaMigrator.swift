import Foundation
import PostgresClient

/// Applies the numbered SQL files of `sql/` in order, each in its own transaction,
/// under an advisory lock so instances starting together never race.
public struct SchemaMigrator: Sendable {
    public struct Migration: Sendable, Equatable {
        public var version: Int
        public var name: String
        public var sql: String
    }

    /// Arbitrary but fixed: every chargepile process agrees on it.
    static let advisoryLockKey: Int64 = 0x6368_6172_6765  // "charge"

    public let migrations: [Migration]

    public init(migrations: [Migration] = SchemaMigrator.bundled()) {
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// The migrations shipped with the binary (copied from `sql/`).
    public static func bundled() -> [Migration] {
        guard let folder = Bundle.module.url(forResource: "Migrations", withExtension: nil),
              let files = try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
        else { return [] }
        return files.compactMap { url -> Migration? in
            let file = url.lastPathComponent
            guard file.hasSuffix(".sql"),
                  let version = Int(file.prefix { $0.isNumber }),
                  let sql = try? String(contentsOf: url, encoding: .utf8)
            else { return nil }
            return Migration(version: version, name: String(file.dropLast(4)), sql: sql)
        }
    }

    /// The newest version this binary knows.
    public var latestVersion: Int { migrations.last?.version ?? 0 }

    /// Applies what is missing; returns the versions applied by this call.
    @discardableResult
    public func migrate(_ pool: PostgresPool) async throws -> [Int] {
        try await pool.withAdvisoryLock(Self.advisoryLockKey) { connection in
            try await applyMissing(on: connection)
        }
    }

    /// The version the database is at (0 when never migrated).
    public func currentVersion(_ pool: PostgresPool) async throws -> Int {
        let rows = try await pool.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS ready")
        guard try rows.first?.decode("ready", as: Bool.self) == true else { return 0 }
        let versions = try await pool.query("SELECT coalesce(max(version), 0) AS version FROM schema_migrations")
        return try versions.first?.decode("version", as: Int.self) ?? 0
    }

    private func applyMissing(on connection: PostgresConnection) async throws -> [Int] {
        try await connection.unsafeSimpleQuery("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        let rows = try await connection.query("SELECT version FROM schema_migrations")
        let done = Set(try rows.map { try $0.decode("version", as: Int.self) })
        var applied: [Int] = []
        for migration in migrations where !done.contains(migration.version) {
            try await connection.unsafeSimpleQuery("BEGIN")
            do {
                try await connection.unsafeSimpleQuery(migration.sql)
                _ = try await connection.query(
                    "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))")
                try await connection.unsafeSimpleQuery("COMMIT")
            } catch {
                try? await connection.unsafeSimpleQuery("ROLLBACK")
                throw error
            }
            applied.append(migration.version)
        }
        return applied
    }
}
