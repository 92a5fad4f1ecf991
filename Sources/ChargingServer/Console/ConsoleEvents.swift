import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresClient
import ServiceLifecycle

/// What an open console hears: a table of the station changed (`piles`, `commands`,
/// `station`, `bills`), everything may have changed (the listener reconnected and missed
/// notifications), or nothing (a keep-alive that also finds closed connections).
enum ConsoleEvent: Sendable, Equatable {
    case change(String)
    case resync
    case keepalive
}

/// Fans the station-wide NOTIFY channel (`chargepile_console`, rung by the triggers of
/// `0004_console_events.sql`) out to the consoles connected to this instance.
final class ConsoleEvents: Sendable {
    static let channel = "chargepile_console"
    /// The topics the triggers send; anything else on the channel is ignored.
    static let topics: Set<String> = ["piles", "commands", "station", "bills", "ocpp"]

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

/// LISTENs on `chargepile_console` with its own connection and feeds `ConsoleEvents`;
/// sends keep-alives; closes the consoles' streams when the instance stops.
struct ConsoleEventService: Service {
    let listener: PostgresListener
    let events: ConsoleEvents
    let keepaliveInterval: Duration
    let logger: Logger

    func run() async throws {
        defer { events.close() }
        try await listener.listen(ConsoleEvents.channel)
        try await cancelWhenGracefulShutdown {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await listener.run() }
                group.addTask {
                    for await event in listener.events {
                        switch event {
                        case .reconnected: events.publish(.resync)
                        case .notification(let notification):
                            if ConsoleEvents.topics.contains(notification.payload) {
                                events.publish(.change(notification.payload))
                            }
                        }
                    }
                }
                group.addTask {
                    // Never throws: on shutdown the listener's end, not a CancellationError, ends the group.
                    while !Task.isCancelled {
                        try? await Task.sleep(for: keepaliveInterval)
                        if !Task.isCancelled { events.publish(.keepalive) }
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        }
    }
}
