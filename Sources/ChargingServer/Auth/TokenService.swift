import ChargingDomain
import ChargingStore
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
        try await store.insert(hashHex: SHA256.hash(Array(token.utf8)).hexString, role: role, subject: subject, expiresAt: expiresAt)
        return token
    }

    /// Checks a password against the account's bcrypt hash and hands out a token of `role`.
    /// An unknown account costs as much time as a wrong password, so timing tells nothing.
    func logIn(_ credentials: Credentials?, password: String, role: AccountRole, hasher: PasswordHasher) async throws -> String {
        guard let credentials else {
            try await hasher.verifyAgainstNothing(password)
            throw APIError.wrongCredentials
        }
        guard try await hasher.verify(password, hash: credentials.passwordHash) else { throw APIError.wrongCredentials }
        return try await issue(role: role, subject: credentials.subject)
    }

    /// The subject a request's token speaks for, if it is live and of this role.
    func authenticate(_ request: Request, parameters: RequestParameters, role: AccountRole) async throws -> String {
        guard let token = Self.token(request, parameters: parameters), token.utf8.count <= 256,
              let subject = try await store.subject(hashHex: SHA256.hash(Array(token.utf8)).hexString, role: role)
        else { throw APIError.invalidToken }
        return subject
    }

    /// From the `token` parameter (as the seed sends it) or `Authorization: Bearer`.
    static func token(_ request: Request, parameters: RequestParameters) -> String? {
        if let token = try? parameters.optionalString("token") { return token }
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else { return nil }
        let token = header.dropFirst("bearer ".count).trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}
