import ChargingDomain
import ChargingStore
import Foundation
import PostgresClient

/// On an empty database: the initial admin and the default station (piles 1–2 fast
/// 30 kW, 3–5 slow 10 kW). Generated passwords are printed once, never logged; the piles'
/// go to `keepPileSecrets` instead when it is set.
public struct FirstStart: Sendable {
    public var adminUsername = "admin"
    public var adminPassword: String?
    public var pilePassword: String?
    /// Where the piles' generated passwords go instead of the terminal (`serve` on the embedded database:
    /// `./.chargepile/pile-secrets`, mode 0600, which `chargepile sim` reads). Returns the line that says
    /// where they are; when it throws, the passwords are printed after the error.
    public var keepPileSecrets: (@Sendable (_ passwords: [Int: String]) throws -> String)?

    public init() {}

    static let lockKey: Int64 = 0x6669_7273_74  // "first"

    /// Returns the lines to show the operator: generated credentials on an empty database,
    /// otherwise that it was set up already, and which configured passwords that makes moot.
    func run(pool: PostgresPool, hasher: PasswordHasher, clock: ServerConfiguration.ClockSetting?) async throws -> [String] {
        // Held on one connection while the work uses others: instances starting together take turns.
        try await pool.withAdvisoryLock(Self.lockKey) { _ in
            var lines: [String] = []
            let accounts = AccountStore(pool: pool)
            if try await accounts.adminCount() == 0 {
                let password = adminPassword ?? Self.generatedPassword()
                try await accounts.upsertAdmin(username: Username.normalized(adminUsername) ?? adminUsername, passwordHash: try await hasher.hash(password))
                if adminPassword == nil { lines.append("initial admin: \(adminUsername) / \(password)") }
            } else {
                lines.append("the database already has its admin account(s)")
                if let adminPassword, !(try await Self.matches(adminPassword, try await accounts.adminCredentials(username: adminUsername), hasher)) {
                    lines.append("CHARGEPILE_ADMIN_PASSWORD is ignored: it only sets the first admin of an empty database; "
                                 + "to set a password: chargepile admin add \(adminUsername) --password-file FILE")
                }
            }
            let stations = StationStore(pool: pool)
            if try await stations.stationIDs().isEmpty {
                // Each pile its own secret, so holding one pile's can't take over another's socket;
                // CHARGEPILE_PILE_PASSWORD gives them all one (for tests and local clusters).
                let settings = StationSettings.standard
                var secrets: [Int: (password: String, hash: String)] = [:]
                for pile in settings.piles {
                    let password = pilePassword ?? Self.generatedPassword()
                    secrets[pile.id] = (password, try await hasher.hash(password))
                }
                try await stations.create(id: 1, name: "default", settings: settings, pilePasswordHashes: secrets.mapValues(\.hash),
                                          clock: clock?.mode ?? .real, speed: clock?.speed ?? 1, start: clock?.start)
                try await OCPPStore(pool: pool).storeSecretDigests(secrets.mapValues { secret in
                    let (salt, digest) = PileSecret.salted(secret.password)
                    return (secret.hash, salt, digest)
                })
                if pilePassword == nil {
                    lines += Self.pilePasswordLines(secrets.mapValues(\.password), keep: keepPileSecrets)
                }
            } else if let pilePassword, let firstPile = try await PileStore(pool: pool).all().first?.id,
                      !(try await Self.matches(pilePassword, try await PileStore(pool: pool).credentials(pileID: firstPile), hasher)) {
                lines.append("CHARGEPILE_PILE_PASSWORD is ignored: the piles exist already; "
                             + "to give a pile a new password: chargepile pile password ID")
            }
            return lines
        }
    }

    /// Where the generated pile passwords are: kept (the line saying where), or printed.
    static func pilePasswordLines(_ passwords: [Int: String], keep: (@Sendable ([Int: String]) throws -> String)?) -> [String] {
        var lines: [String] = []
        if let keep {
            do {
                return [try keep(passwords)]
            } catch {
                lines.append("the pile passwords could not be kept in a file (\(error)); they are printed here, once")
            }
        }
        return lines + passwords.keys.sorted().map { "pile \($0) password: \(passwords[$0]!)" }
    }

    /// Whether a configured password is already the account's (then it is not ignored, just in effect).
    private static func matches(_ password: String, _ credentials: Credentials?, _ hasher: PasswordHasher) async throws -> Bool {
        guard let credentials else { return false }
        return try await hasher.verify(password, hash: credentials.passwordHash)
    }

    /// 16 characters of 56 (no look-alikes): about 93 random bits.
    public static func generatedPassword() -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<16).map { _ in alphabet.randomElement(using: &generator)! })
    }
}
