import ChargingDomain
import ChargingStore
import Foundation
import Logging

/// Limits on password guessing, counted in PostgreSQL so every instance sees the same counts.
public struct LoginDefence: Sendable {
    /// Failures of one account that cost nothing; after that each failure makes the next attempt
    /// wait `baseDelay`, doubling per failure up to `maxDelay`.
    public var accountFreeFailures = 3
    /// Failures of one account that lock it for `lockout`.
    public var accountLockAt = 10
    /// The same for one client address (an IPv6 client counts by its /64).
    public var addressFreeFailures = 10
    public var addressLockAt = 50
    public var baseDelay: Duration = .seconds(1)
    public var maxDelay: Duration = .seconds(60)
    public var lockout: Duration = .seconds(15 * 60)
    /// A count with no new failure for this long starts again from zero.
    public var window: Duration = .seconds(15 * 60)
    /// Registrations accepted per client address and `registrationWindow`.
    public var registrationsPerAddress = 20
    public var registrationWindow: Duration = .seconds(3600)

    public init() {}

    /// The wait imposed after `failures` failures when `free` of them are free.
    func delay(after failures: Int, free: Int) -> Duration {
        guard failures >= free, failures > 0 else { return .zero }
        let doublings = min(failures - free, 30)
        let seconds = min(baseDelay.inSeconds * pow(2, Double(doublings)), maxDelay.inSeconds)
        return .seconds(seconds)
    }
}

/// Checks and counts login attempts for one role's login route.
struct LoginGuard: Sendable {
    let store: AuthStore
    let defence: LoginDefence

    static func accountKey(role: AccountRole, username: String) -> String {
        "\(role.rawValue):\(String(username.lowercased().prefix(150)))"
    }

    /// IPv6 clients are counted per /64: one host usually owns the whole block.
    static func addressKey(_ address: String) -> String {
        guard let bytes = TrustedNetworks.parse(address), bytes.count == 16, TrustedNetworks.mappedIPv4(bytes) == nil else { return address }
        return bytes[0..<8].hexString + "::/64"
    }

    /// Throws `tooManyAttempts` while the account or the address must wait or is locked. Returns
    /// whether the account has failures counted, which a successful login then clears.
    @discardableResult
    func check(accountKey: String, address: String) async throws -> Bool {
        let counters = try await store.loginCounters(account: accountKey, address: Self.addressKey(address), window: defence.window)
        return try judge(account: counters.account, address: counters.address)
    }

    /// `check` on counters already read (a charger's handshake reads them with its identity).
    func judge(account: AuthStore.Counter?, address: AuthStore.Counter?) throws -> Bool {
        if let counter = account,
           Self.mustWait(counter, delay: defence.delay(after: counter.failures, free: defence.accountFreeFailures)) {
            throw APIError.tooManyAttempts
        }
        if let counter = address,
           Self.mustWait(counter, delay: defence.delay(after: counter.failures, free: defence.addressFreeFailures)) {
            throw APIError.tooManyAttempts
        }
        return account != nil
    }

    static func mustWait(_ counter: AuthStore.Counter, delay: Duration) -> Bool {
        if let locked = counter.lockedFor, locked > 0 { return true }
        return counter.secondsSinceLast < delay.inSeconds
    }

    func failed(accountKey: String, address: String) async throws {
        try await store.count(.account, key: accountKey, window: defence.window, lockAt: defence.accountLockAt, lockout: defence.lockout)
        try await store.count(.address, key: Self.addressKey(address), window: defence.window, lockAt: defence.addressLockAt,
                              lockout: defence.lockout)
    }

    func succeeded(accountKey: String) async throws {
        try await store.clear(.account, key: accountKey)
    }

    /// Registration: refused once an address registered `registrationsPerAddress` in the window.
    func checkRegistration(address: String) async throws {
        if let counter = try await store.counter(.register, key: Self.addressKey(address), window: defence.registrationWindow),
           counter.failures >= defence.registrationsPerAddress {
            throw APIError.tooManyAttempts
        }
    }

    func registered(address: String) async throws {
        try await store.count(.register, key: Self.addressKey(address), window: defence.registrationWindow,
                              lockAt: Int.max, lockout: .zero)
    }
}

/// The audit trail of logins: a log line, a metric and an `auth_events` row per attempt.
struct AuthAudit: Sendable {
    let store: AuthStore
    let instance: UUID
    let logger: Logger

    enum Outcome: String, Sendable {
        case success, failure, throttled, busy, invalid, error
    }

    func record(_ event: String, role: AccountRole, username: String, address: String, outcome: Outcome, logger requestLogger: Logger) async {
        ServerMetrics.recordAuth(event: event, role: role.rawValue, outcome: outcome.rawValue)
        requestLogger.info("auth", metadata: [
            "event": "\(event)", "role": "\(role.rawValue)", "username": "\(String(username.prefix(64)).debugDescription)",
            "client": "\(address)", "outcome": "\(outcome.rawValue)",
        ])
        do {
            try await store.record(event: event, role: role, username: username, clientAddress: address, outcome: outcome.rawValue,
                                   instance: instance)
        } catch {
            requestLogger.warning("auth event not stored", metadata: ["error": "\(error)"])
        }
    }
}
