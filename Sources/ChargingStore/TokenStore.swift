import Foundation
import PostgresClient

/// Session tokens, kept only as SHA-256 hashes (hex) with a role and an expiry.
public struct TokenStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    public func insert(hashHex: String, role: AccountRole, subject: String, expiresAt: Date) async throws {
        try await pool.execute("""
            INSERT INTO auth_tokens (token_hash, role, subject, expires_at)
            VALUES (decode(\(hashHex), 'hex'), \(role.rawValue), \(subject), \(expiresAt))
            """)
    }

    /// The subject of a live token of exactly this role, or nil.
    public func subject(hashHex: String, role: AccountRole) async throws -> String? {
        try await pool.query("""
            SELECT subject FROM auth_tokens
            WHERE token_hash = decode(\(hashHex), 'hex') AND role = \(role.rawValue) AND expires_at > now()
            """).first?.decode("subject")
    }

    @discardableResult
    public func deleteExpired() async throws -> Int {
        try await pool.execute("DELETE FROM auth_tokens WHERE expires_at <= now()")
    }
}
