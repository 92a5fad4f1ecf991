import ChargingStore

/// Checks a charger's HTTP Basic password (the pile's secret) against the salted SHA-256 kept beside
/// its bcrypt hash, so a reconnect storm of thousands of chargers costs no bcrypt per handshake on any
/// instance. A pile without a digest yet (its secret was set in psql) takes the bcrypt path once,
/// and its digest is kept for the next time.
struct ChargePointCredentials: Sendable {
    let hasher: PasswordHasher
    let store: OCPPStore

    func verify(_ password: String, chargePoint: OCPPStore.ChargePoint) async throws -> Bool {
        if let (salt, digest) = chargePoint.secretDigest {
            return PileSecret.matches(password, salt: salt, digest: digest)
        }
        guard try await hasher.verify(password, hash: chargePoint.credentials.passwordHash) else { return false }
        let (salt, digest) = PileSecret.salted(password)
        try await store.storeSecretDigest(pileID: chargePoint.pileID, passwordHash: chargePoint.credentials.passwordHash,
                                          salt: salt, digest: digest)
        return true
    }
}
