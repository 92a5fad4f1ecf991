import PostgresClient

/// What piles confirm about the commands they were sent.
public struct PileCommandLog: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    /// Records a pile's `ack`; false when the command isn't this pile's.
    public func acknowledge(commandID: Int64, pileID: Int) async throws -> Bool {
        try await pool.execute("""
            UPDATE pile_commands SET acked_at = coalesce(acked_at, now()) WHERE id = \(commandID) AND pile_id = \(pileID)
            """) == 1
    }
}
