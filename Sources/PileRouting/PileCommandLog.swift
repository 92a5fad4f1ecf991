import PostgresClient

/// What piles confirm about the commands they were sent, in time or late.
public struct PileCommandLog: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    /// Records a pile's `ack`; false when the command isn't this pile's.
    public func acknowledge(commandID: Int64, pileID: Int) async throws -> Bool {
        try await pool.execute("""
            UPDATE pile_commands SET acked_at = coalesce(acked_at, now()) WHERE id = \(commandID) AND pile_id = \(pileID)
            """) == 1
    }

    /// A pile's answer that came after the command's deadline (the row has expired or failed meanwhile):
    /// kept on the row, so an operator sees what the charger did after all.
    public func recordLateAnswer(commandID: Int64, pileID: Int, answer: String) async throws {
        try await pool.execute("""
            UPDATE pile_commands SET late_answer = \(answer)::jsonb, late_answer_at = now() WHERE id = \(commandID) AND pile_id = \(pileID)
            """)
    }
}
