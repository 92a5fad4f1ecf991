import EmbeddedPostgres

/// The PostgreSQL server a test process uses.
public struct TestPostgresServer: Sendable {
    /// Connection string of the server's administrative database (`postgres`).
    public var conninfo: String
    /// The embedded server, or nil when DATABASE_URL pointed elsewhere.
    public var embedded: EmbeddedPostgres?

    public init(conninfo: String, embedded: EmbeddedPostgres?) {
        self.conninfo = conninfo
        self.embedded = embedded
    }
}
