import Foundation
import HummingbirdBcrypt
import NIOConcurrencyHelpers
import NIOPosix

/// bcrypt, run on NIO's thread pool: a hash takes tens of milliseconds of CPU that must
/// not stall the cooperative pool the event handling runs on. At most `limiter`'s permits
/// run at once (one per core by default); a bounded number wait, the rest are refused at
/// once with `-1 服务繁忙` (`PasswordHasher.Busy`), so a login flood can't queue without end.
public struct PasswordHasher: Sendable {
    public var cost: UInt8
    let limiter: HashLimiter

    /// bcrypt uses only a password's first 72 bytes: longer ones are refused, never truncated.
    public static let maxPasswordBytes = 72

    public init(cost: UInt8 = 10, concurrency: Int = ProcessInfo.processInfo.activeProcessorCount, maxWaiting: Int = 16) {
        self.cost = cost
        self.limiter = HashLimiter(permits: max(1, concurrency), maxWaiting: max(0, maxWaiting))
    }

    public struct Busy: Error {}

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await limiter.run { try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) } }
    }

    /// Also accepts hashes made in psql with pgcrypto's `crypt('pw', gen_salt('bf'))` ($2a$).
    public func verify(_ password: String, hash: String) async throws -> Bool {
        try await limiter.run { try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) } }
    }

    /// Spends the same time as a real check when an account does not exist, so a login's
    /// timing doesn't tell which usernames exist.
    func verifyAgainstNothing(_ password: String) async throws {
        _ = try await verify(password, hash: Self.decoyHash)
    }

    private static let decoyHash = Bcrypt.hash("decoy", cost: 10)
}

/// A counting semaphore with a bounded wait queue, in arrival order.
final class HashLimiter: Sendable {
    private struct State {
        var available: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state: NIOLockedValueBox<State>
    let maxWaiting: Int

    init(permits: Int, maxWaiting: Int) {
        state = NIOLockedValueBox(State(available: permits))
        self.maxWaiting = maxWaiting
    }

    func run<Result: Sendable>(_ body: () async throws -> Result) async throws -> Result {
        try await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async throws {
        enum Decision { case go, wait, refuse }
        // Decided and enqueued under one lock hold, so no release slips in between.
        var refused = false
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let decision: Decision = state.withLockedValue { state in
                if state.available > 0 {
                    state.available -= 1
                    return .go
                }
                guard state.waiters.count < maxWaiting else { return .refuse }
                state.waiters.append(continuation)
                return .wait
            }
            switch decision {
            case .go: continuation.resume()
            case .refuse:
                refused = true
                continuation.resume()
            case .wait: break
            }
        }
        if refused { throw PasswordHasher.Busy() }
    }

    private func release() {
        let next: CheckedContinuation<Void, Never>? = state.withLockedValue { state in
            if state.waiters.isEmpty {
                state.available += 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
