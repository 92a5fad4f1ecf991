import HummingbirdBcrypt
import NIOPosix

/// bcrypt, run on NIO's thread pool: a hash takes tens of milliseconds of CPU that must
/// not stall the cooperative pool the event handling runs on.
public struct PasswordHasher: Sendable {
    public var cost: UInt8

    public init(cost: UInt8 = 10) { self.cost = cost }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Also accepts hashes made in psql with pgcrypto's `crypt('pw', gen_salt('bf'))` ($2a$).
    public func verify(_ password: String, hash: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }

    /// Spends the same time as a real check when an account does not exist, so a login's
    /// timing doesn't tell which usernames exist.
    func verifyAgainstNothing(_ password: String) async throws {
        _ = try await verify(password, hash: Self.decoyHash)
    }

    private static let decoyHash = Bcrypt.hash("decoy", cost: 10)
}
