import ChargingStore
import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// What an open console hears: a table of the station changed (`piles`, `commands`,
/// `station`, `bills`), everything may have changed (the listener reconnected and missed
/// notifications), or nothing (a keep-alive that also finds closed connections).
enum ConsoleEvent: Sendable, Equatable {
    case change(String)
    case resync
    case keepalive
}

/// Fans the database's console changes (counted by the triggers of `0004_console_events.sql`,
/// `0014_console_change_counters.sql`) out to the consoles connected to this instance.
final class ConsoleEvents: Sendable {
    private struct State {
        var subscribers: [Int: AsyncStream<ConsoleEvent>.Continuation] = [:]
        var nextID = 0
        var closed = false
    }

    private let state = NIOLockedValueBox(State())

    var subscriberCount: Int { state.withLockedValue { $0.subscribers.count } }

    /// A new subscription; its stream ends at `unsubscribe`, or when the instance shuts down.
    func subscribe() -> (id: Int, events: AsyncStream<ConsoleEvent>) {
        // A slow console loses old events, not new ones: each one only says "read again".
        let (stream, continuation) = AsyncStream.makeStream(of: ConsoleEvent.self, bufferingPolicy: .bufferingNewest(32))
        let id: Int? = state.withLockedValue { state in
            guard !state.closed else { return nil }
            state.nextID += 1
            state.subscribers[state.nextID] = continuation
            return state.nextID
        }
        guard let id else {
            continuation.finish()
            return (0, stream)
        }
        return (id, stream)
    }

    func unsubscribe(_ id: Int) {
        state.withLockedValue { $0.subscribers.removeValue(forKey: id) }?.finish()
    }

    func publish(_ event: ConsoleEvent) {
        for continuation in state.withLockedValue({ Array($0.subscribers.values) }) {
            continuation.yield(event)
        }
    }

    /// Ends every stream, and every later one at once: the instance is stopping.
    func close() {
        let continuations = state.withLockedValue { state in
            state.closed = true
            defer { state.subscribers = [:] }
            return Array(state.subscribers.values)
        }
        for continuation in continuations { continuation.finish() }
    }
}

/// Which topics the consoles must read again, from successive readings of the change counters. A
/// change is counted inside its transaction, before it commits, so a topic is pushed once every
/// transaction that was running when its change was first seen has ended (at once on a quiet
/// database; or after `settleLimit`, in case a long transaction holds the horizon back): the consoles'
/// read then sees the change. Changes counted meanwhile wait for the next push.
struct ConsoleChangeTracker {
    static let settleLimit: Duration = .seconds(5)

    private struct Unpushed {
        /// Past every transaction running when the change was seen: once the oldest running one is past
        /// it, every transaction that could have counted the change has ended.
        var until: Int64
        var since: ContinuousClock.Instant
        var count: Int64
    }

    private var last: [String: Int64]?
    private var unpushed: [String: Unpushed] = [:]

    mutating func topics(after reading: ConsoleStore.ChangeCounters, at now: ContinuousClock.Instant) -> [String] {
        defer { last = reading.topics }
        guard let last else { return [] }
        var changed: [String] = []
        for (topic, count) in reading.topics.sorted(by: { $0.key < $1.key }) {
            if count != last[topic], unpushed[topic] == nil {
                unpushed[topic] = Unpushed(until: reading.runningBefore, since: now, count: count)
            }
            guard let waiting = unpushed[topic],
                  reading.runningFrom >= waiting.until || now - waiting.since >= Self.settleLimit
            else { continue }
            changed.append(topic)
            // Changes counted after the one this push covers get a push of their own.
            unpushed[topic] = count == waiting.count ? nil : Unpushed(until: reading.runningBefore, since: now, count: count)
        }
        return changed
    }
}

/// Polls the change counters (a few tiny queries a second, console or not: a console that opens
/// must hear every change after it subscribed) and feeds `ConsoleEvents`; sends
/// keep-alives; closes the consoles' streams when the instance stops.
struct ConsoleEventService: Service {
    let store: ConsoleStore
    let events: ConsoleEvents
    let pollInterval: Duration
    let keepaliveInterval: Duration
    let logger: Logger

    func run() async throws {
        defer { events.close() }
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await poll() }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: keepaliveInterval)
                        if !Task.isCancelled { events.publish(.keepalive) }
                    }
                }
                await group.next()
                group.cancelAll()
            }
        }
    }

    private func poll() async {
        var tracker = ConsoleChangeTracker()
        var failed = false
        // The first reading is the baseline, taken at once: a console can subscribe as soon as the instance serves.
        while !Task.isCancelled {
            do {
                let counters = try await store.changeCounters()
                // Changes made while the database was out of reach were not seen: everything may have changed.
                if failed { events.publish(.resync); failed = false }
                for topic in tracker.topics(after: counters, at: .now) { events.publish(.change(topic)) }
            } catch {
                if !failed { logger.warning("console change poll failed", metadata: ["error": "\(error)"]) }
                failed = true
            }
            try? await Task.sleep(for: pollInterval)
        }
    }
}
