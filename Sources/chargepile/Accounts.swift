import ArgumentParser
import ChargingDomain
import ChargingServer
import ChargingStore
import EmbeddedPostgres
import Foundation
import PostgresClient

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage admins.", subcommands: [Add.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an admin, or set an existing admin's password.")
        static let passwordVariable = "CHARGEPILE_PASSWORD"
        @Argument var username: String
        @OptionGroup(title: "Password (else $CHARGEPILE_PASSWORD, else a prompt)") var password: PasswordSource

        func run() async throws {
            // Stored NFC, trimmed; the same name in another case is the same admin.
            guard let username = Username.normalized(self.username) else {
                throw ValidationError("a username is 1 to 64 characters, without control characters")
            }
            let password = try password.read(environment: Self.passwordVariable, prompt: "password for admin \(username): ")
            guard password.utf8.count <= PasswordHasher.maxPasswordBytes else {
                throw ValidationError("a password is at most \(PasswordHasher.maxPasswordBytes) bytes (bcrypt ignores the rest)")
            }
            try await withMigratedPool { pool in
                // An existing admin's new password revokes its sessions (migration 0005's trigger).
                try await AccountStore(pool: pool).upsertAdmin(username: username, passwordHash: try await PasswordHasher().hash(password))
            }
            print("admin \(username) saved")
        }
    }
}

struct Pile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage piles.", subcommands: [Add.self, Settings.self, Password.self])

    struct Settings: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Change a pile's settings.",
            discussion: """
                --security-profile: 1 accepts ws:// and wss:// with the Basic password; 2 only wss:// (TLS at the proxy); \
                3 only wss:// with a client certificate the proxy verified whose CN is the pile's chargePointId. \
                Checked at each OCPP handshake: a socket already open stays open until it reconnects.
                """)
        @Argument var id: Int
        @Option(name: .customLong("security-profile"), help: "The OCPP security profile the pile must connect with: 1, 2 or 3.")
        var securityProfile: Int

        func validate() throws {
            guard (1...3).contains(securityProfile) else { throw ValidationError("--security-profile must be 1, 2 or 3") }
            guard id > 0, id <= Int(Int32.max) else { throw ValidationError("pile ids are 1 to \(Int32.max)") }
        }

        func run() async throws {
            var found = false
            try await withMigratedPool { pool in
                found = try await OCPPStore(pool: pool).setSecurityProfile(securityProfile, pileID: id)
            }
            guard found else { throw ValidationError("no pile \(id)") }
            print("pile \(id): OCPP security profile \(securityProfile)")
        }
    }

    struct Password: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a pile a new password (generated and printed once, or from --password-file / $CHARGEPILE_PASSWORD).",
            discussion: "Its tokens are revoked; its socket is closed at the next token check and it must log in with the new one.")
        @Argument var id: Int
        @OptionGroup(title: "The new password (else $CHARGEPILE_PASSWORD, else a generated one)") var source: PasswordSource

        func run() async throws {
            let generated = source.passwordFile == nil && ProcessInfo.processInfo.environment[Admin.Add.passwordVariable] == nil
            let password = generated ? FirstStart.generatedPassword()
                : try source.read(environment: Admin.Add.passwordVariable, prompt: "")
            var found = false
            try await withMigratedPool { pool in
                let hash = try await PasswordHasher().hash(password)
                found = try await PileStore(pool: pool).setPassword(pileID: id, passwordHash: hash)
                let (salt, digest) = PileSecret.salted(password)
                if found { try await OCPPStore(pool: pool).storeSecretDigest(pileID: id, passwordHash: hash, salt: salt, digest: digest) }
            }
            guard found else { throw ValidationError("no pile \(id)") }
            // On the embedded database whose first start wrote the piles' passwords to a file, the file follows.
            let environment = ProcessInfo.processInfo.environment
            let file = PileSecretsFile.standard(environment: environment)
            if environment["DATABASE_URL"].map(\.isEmpty) ?? true, file.exists {
                do {
                    try file.update(pileID: id, password: password)
                    say("pile \(id) password set; written to \(file.path)" + (generated ? " (generated)" : ""))
                    return
                } catch {
                    say("\(file.path) was not updated: \(error)")
                }
            }
            say(generated ? "pile \(id) password: \(password)" : "pile \(id) password set")
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Provision a pile, or --count piles in a row (they are offline until they log in).")
        @Argument var id: Int
        @Option(help: "Provision this many piles, ids id…id+count−1, with the same kind, power and password (a site commissioned at once).")
        var count = 1
        @Option var kind: ChargingMode
        @Option(help: "Power in kW (default 30 for F, 10 for T).") var power: Double?
        @OptionGroup(title: "Password (else $CHARGEPILE_PASSWORD, else a prompt)") var password: PasswordSource
        @Option var station = 1
        @Option(name: .customLong("ocpp-id"), help: "Its OCPP chargePointId (up to 20 characters, e.g. a serial number; default: the pile's number).")
        var ocppID: String?
        @Option(name: .customLong("security-profile"),
                help: "The OCPP security profile it must connect with: 1 (default), 2 (TLS only) or 3 (TLS with its client certificate).")
        var securityProfile = 1

        func validate() throws {
            guard (1...3).contains(securityProfile) else { throw ValidationError("--security-profile must be 1, 2 or 3") }
            if let ocppID, !(1...20).contains(ocppID.count) || ocppID.contains("/") {
                throw ValidationError("--ocpp-id must be 1 to 20 characters without /")
            }
            guard (1...100_000).contains(count) else { throw ValidationError("--count must be 1 to 100000") }
            guard id > 0, id <= Int(Int32.max) - count + 1 else { throw ValidationError("pile ids are 1 to \(Int32.max)") }
            if ocppID != nil, count > 1 { throw ValidationError("--ocpp-id names one pile; with --count each pile's OCPP id is its number") }
        }

        func run() async throws {
            let ids = id..<(id + count)
            let password = try password.read(environment: Admin.Add.passwordVariable,
                                             prompt: count == 1 ? "password for pile \(id): " : "password for piles \(id)…\(ids.upperBound - 1): ")
            guard password.utf8.count <= PasswordHasher.maxPasswordBytes else {
                throw ValidationError("a password is at most \(PasswordHasher.maxPasswordBytes) bytes (bcrypt ignores the rest)")
            }
            let kilowatts = power ?? (kind == .fast ? 30 : 10)
            guard id > 0, kilowatts > 0 else { throw ValidationError("id and power must be positive") }
            try await withMigratedPool { pool in
                let hash = try await PasswordHasher().hash(password)
                // Each pile its own salt: one bcrypt for the batch, one SHA-256 per pile, written with its row.
                let digests = Dictionary(uniqueKeysWithValues: ids.map { pileID in
                    let (salt, digest) = PileSecret.salted(password)
                    return (pileID, (salt: salt, digest: digest))
                })
                try await StationStore(pool: pool).addPiles(
                    ids.map { PileSpec(id: $0, mode: kind, powerWatts: Int64(kilowatts * 1000)) }, stationID: station, passwordHash: hash,
                    secretDigests: digests)
                if let ocppID { try await OCPPStore(pool: pool).setOCPPID(ocppID, pileID: id) }
                if securityProfile != 1 {
                    for pileID in ids { _ = try await OCPPStore(pool: pool).setSecurityProfile(securityProfile, pileID: pileID) }
                }
            }
            if count == 1 {
                print("pile \(id) (\(kind.rawValue), \(kilowatts) kW) added to station \(station), OCPP id \(ocppID ?? String(id)), security profile \(securityProfile)")
            } else {
                print("piles \(id)…\(ids.upperBound - 1) (\(kind.rawValue), \(kilowatts) kW) added to station \(station), OCPP ids their numbers")
            }
        }
    }
}

struct Tag: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage OCPP idTags (RFID cards).", subcommands: [Add.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Provision an RFID card for a driver, or change one (chargers ask Authorize/StartTransaction about it).")
        @Argument(help: "The card's idTag (up to 20 characters).") var idTag: String
        @Option(help: "The driver (username) the card charges for.") var driver: String
        @Option(help: "Expiry (ISO-8601); an expired card is answered Expired.") var expires: String?
        @Option(help: "Parent (group) idTag.") var parent: String?
        @Flag(help: "Blocked: answered Blocked.") var blocked = false

        func run() async throws {
            guard (1...20).contains(idTag.count), parent.map({ (1...20).contains($0.count) }) ?? true else {
                throw ValidationError("idTags are 1 to 20 characters")
            }
            let expiry = try expires.map { text in
                guard let date = try? Date(text, strategy: .iso8601) else { throw ValidationError("--expires must be ISO-8601") }
                return date
            }
            var found = false
            try await withMigratedPool { pool in
                found = try await OCPPStore(pool: pool).upsertIdTag(idTag, driverUsername: driver, parentIdTag: parent,
                                                                    expiresAt: expiry, blocked: blocked)
            }
            guard found else { throw ValidationError("no driver \(driver)") }
            print("idTag \(idTag) saved for driver \(driver)\(blocked ? " (blocked)" : "")")
        }
    }
}

extension ChargingMode: ExpressibleByArgument {}

/// Runs `body` on a migrated database (with first-start defaults when it was empty).
func withMigratedPool(_ body: (PostgresPool) async throws -> Void) async throws {
    let database = try DatabaseLocation.resolve()
    defer { database.stop() }
    let pool = PostgresPool(conninfo: database.url, maxConnections: 2, logger: makeLogger("chargepile"))
    do {
        try await SchemaMigrator().migrate(pool)
        try await body(pool)
    } catch {
        await pool.close()
        throw error
    }
    await pool.close()
}
