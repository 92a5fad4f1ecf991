import ChargingDomain
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where the benchmarks run blocking work: never on the cooperative pool.
enum BenchThreads {
    /// Short blocking work (server start-up, a probe request) on a global queue.
    static func blocking<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Swift.Result { try body() }) }
        }
    }

    /// A long blocking loop (a measurement driving blocking sockets) on a thread of its own.
    static func dedicated<Result: Sendable>(
        name: String, _ body: @escaping @Sendable () throws -> Result
    ) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Swift.Result { try body() }) }
            thread.name = name
            thread.start()
        }
    }

    /// Raises this process's open-file limit to its hard limit; returns the new soft limit.
    @discardableResult
    static func raiseOpenFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return -1 }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        _ = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        return Int(limit.rlim_cur)
    }
}

/// A thread-safe mailbox a blocking thread can wait on with a timeout, filled from any
/// thread (a NIO event loop, a task) with the instant something arrived.
final class BenchInbox<Item: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [(item: Item, at: ContinuousClock.Instant)] = []
    private var head = 0

    func put(_ item: Item, at instant: ContinuousClock.Instant = .now) {
        condition.lock()
        items.append((item, instant))
        condition.signal()
        condition.unlock()
    }

    /// The oldest item not taken yet, or nil after `timeout`.
    func take(timeout: Duration) -> (item: Item, at: ContinuousClock.Instant)? {
        let limit = Date(timeIntervalSinceNow: timeout.inSeconds)
        condition.lock()
        defer { condition.unlock() }
        while head == items.count {
            guard condition.wait(until: limit) else { return nil }
        }
        defer {
            head += 1
            if head == items.count {
                items.removeAll(keepingCapacity: true)
                head = 0
            }
        }
        return items[head]
    }

    /// Drops what arrived but was not taken (e.g. after a warm-up).
    func clear() {
        condition.lock()
        items.removeAll(keepingCapacity: true)
        head = 0
        condition.unlock()
    }
}
