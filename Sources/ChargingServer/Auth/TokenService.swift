import ChargingDomain
import ChargingStore
import Crypto
import Foundation
import Hummingbird

/// Issues and checks session tokens: 256 random bits, handed out once, stored only as
/// a SHA-256 hash with a role and an expiry, so every instance can check any token.
public struct TokenService: Sendable {
    let store: TokenStore
    let lifetime: Duration

    public init(store: TokenStore, lifetime: Duration) {
        self.store = store
        self.lifetime = lifetime
    }

    public func issue(role: AccountRole, subject: String) async throws -> String {
        var generator = SystemRandomNumberGenerator()
        let token = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }.hexString
        let expiresAt = Date().addingTimeInterval(lifetime.inSeconds)
        try await store.insert(hashHex: Self.hash(token), role: role, subject: subject, expiresAt: expiresAt)
        return token
    }

    /// The subject a request's token speaks for, if it is live and of this role.
    func authenticate(_ request: Request, parameters: RequestParameters, role: AccountRole) async throws -> String {
        try await authenticateWithHash(request, parameters: parameters, role: role).subject
    }

    /// The subject and the token's hash (hex), which logout revokes and a pile socket remembers.
    func authenticateWithHash(_ request: Request, parameters: RequestParameters, role: AccountRole) async throws
        -> (subject: String, hash: String) {
        guard let token = Self.token(request, parameters: parameters), token.utf8.count <= 256 else { throw APIError.invalidToken }
        let hash = Self.hash(token)
        guard let subject = try await store.subject(hashHex: hash, role: role) else { throw APIError.invalidToken }
        return (subject, hash)
    }

    static func hash(_ token: String) -> String { SHA256.hash(data: Array(token.utf8)).hexString }

    /// Ends the session of this token hash.
    func revoke(hash: String, role: AccountRole) async throws {
        try await store.revoke(hashHex: hash, role: role)
    }

    /// Which of these token hashes are still live.
    func liveHashes(_ hashes: [String]) async throws -> Set<String> {
        try await store.liveHashes(hashes)
    }

    func purgeExpired() async throws -> Int {
        try await store.deleteExpired()
    }

    /// From the `token` parameter (as the seed sends it) or `Authorization: Bearer`.
    static func token(_ request: Request, parameters: RequestParameters) -> String? {
        if let token = try? parameters.optionalString("token") { return token }
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else { return nil }
        let token = header.dropFirst("bearer ".count).trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}
