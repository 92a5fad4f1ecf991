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

    /// Ends one session (logout): the token of exactly this role. Returns whether it existed.
    @discardableResult
    public func revoke(hashHex: String, role: AccountRole) async throws -> Bool {
        try await pool.execute("DELETE FROM auth_tokens WHERE token_hash = decode(\(hashHex), 'hex') AND role = \(role.rawValue)") > 0
    }

    /// Which of these token hashes (hex) are still live: the pile sockets check theirs.
    public func liveHashes(_ hashes: [String]) async throws -> Set<String> {
        guard !hashes.isEmpty else { return [] }
        let list = hashes.joined(separator: ",")
        return Set(try await pool.query("""
            SELECT encode(token_hash, 'hex') AS hash FROM auth_tokens
            WHERE token_hash = ANY (SELECT decode(h, 'hex') FROM unnest(string_to_array(\(list), ',')) AS h) AND expires_at > now()
            """).map { try $0.decode("hash", as: String.self) })
    }

    @discardableResult
    public func deleteExpired() async throws -> Int {
        try await pool.execute("DELETE FROM auth_tokens WHERE expires_at <= now()")
    }
}
