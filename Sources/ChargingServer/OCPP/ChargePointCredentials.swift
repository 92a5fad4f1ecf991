import ChargingStore

/// Checks a charger's HTTP Basic password (the pile's secret). A correct password costs one bcrypt
/// per pile and stored hash on this instance; after that it is a SHA-256 comparison from memory,
/// so a reconnect storm of thousands of chargers costs no bcrypt per handshake. A wrong or changed
/// password always takes the bcrypt path, so guessing is no faster than at `/p/login`.
actor ChargePointCredentials {
    private struct Verified {
        var passwordHash: String
        var digest: [UInt8]
    }

    private let hasher: PasswordHasher
    private var verified: [Int: Verified] = [:]

    init(hasher: PasswordHasher) {
        self.hasher = hasher
    }

    func verify(_ password: String, pileID: Int, credentials: Credentials) async throws -> Bool {
        let digest = SHA256.hash(Array(password.utf8))
        if let known = verified[pileID], known.passwordHash == credentials.passwordHash, known.digest == digest { return true }
        guard try await hasher.verify(password, hash: credentials.passwordHash) else { return false }
        verified[pileID] = Verified(passwordHash: credentials.passwordHash, digest: digest)
        return true
    }
}
