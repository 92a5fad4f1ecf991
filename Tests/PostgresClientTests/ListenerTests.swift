import Foundation
import PostgresClient
import Synchronization
import Testing
import TestSupport

/// Collects a listener's events so a test can wait for one with a deadline.
final class EventLog: Sendable {
    private let events = Mutex<[PostgresListener.Event]>([])

    func consume(_ listener: PostgresListener) -> Task<Void, Never> {
        Task {
            for await event in listener.events {
                events.withLock { $0.append(event) }
            }
        }
    }

    var notifications: [PostgresNotification] {
        events.withLock { events in
            events.compactMap { if case .notification(let notification) = $0 { notification } else { nil } }
        }
    }

    var reconnects: Int {
        events.withLock { events in
            events.filter { if case .reconnected = $0 { true } else { false } }.count
        }
    }

    func waitForReconnects(_ count: Int) async throws {
        try await eventually("\(count) reconnects") { reconnects >= count }
    }

    func waitForPayload(_ payload: String) async throws -> PostgresNotification {
        try await eventually("payload \(payload)") { notifications.contains { $0.payload == payload } }
        return notifications.first { $0.payload == payload }!
    }
}

@Suite struct ListenerTests {
    @Test func receivesNotificationsOnQuotedChannels() async throws {
        let conninfo = try await TestDatabase.makeDatabase()
        let listener = PostgresListener(conninfo: conninfo)
        let log = EventLog()
        let consumer = log.consume(listener)
        try await listener.listen("pile_events")
        let runner = Task { try await listener.run() }
        try await log.waitForReconnects(1)

        let pool = PostgresPool(conninfo: conninfo, maxConnections: 1)
        _ = try await pool.query("SELECT pg_notify(\("pile_events"), \("hello 🔌"))")
        let first = try await log.waitForPayload("hello 🔌")
        #expect(first.channel == "pile_events")
        #expect(first.backendPID != 0)

        // Listening while running, on a name that needs quoting.
        let odd = "Owner \"7\"; DROP"
        try await listener.listen(odd)
        _ = try await pool.query("SELECT pg_notify(\(odd), \("odd"))")
        #expect(try await log.waitForPayload("odd").channel == odd)

        try await listener.unlisten(odd)
        _ = try await pool.query("SELECT pg_notify(\(odd), \("ignored"))")
        _ = try await pool.query("SELECT pg_notify(\("pile_events"), \("barrier"))")
        _ = try await log.waitForPayload("barrier")
        #expect(!log.notifications.contains { $0.payload == "ignored" })

        runner.cancel()
        try await runner.value
        await consumer.value  // the stream finished when run() returned
        await pool.close()
    }

    @Test func reconnectsAndListensAgainAfterItsBackendIsTerminated() async throws {
        let conninfo = try await TestDatabase.makeDatabase()
        let name = "listener-\(UUID().uuidString.prefix(8))"
        let listener = PostgresListener(conninfo: conninfo, overrides: ["application_name": name])
        let log = EventLog()
        let consumer = log.consume(listener)
        try await listener.listen("commands")
        let runner = Task { try await listener.run() }
        try await log.waitForReconnects(1)

        let pool = PostgresPool(conninfo: conninfo, maxConnections: 1)
        let backend = try await pool.query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = \(name)")[0].decode("pid", as: Int32.self)
        try await terminateBackend(backend)
        try await log.waitForReconnects(2)

        _ = try await pool.query("SELECT pg_notify(\("commands"), \("after reconnect"))")
        #expect(try await log.waitForPayload("after reconnect").channel == "commands")

        runner.cancel()
        try await runner.value
        await consumer.value
        await pool.close()
    }

    @Test func keepsRetryingWhileTheServerIsUnreachable() async throws {
        // Nothing listens on port 1: the listener must back off, not spin or give up.
        let listener = PostgresListener(conninfo: "host=127.0.0.1 port=1 user=postgres")
        let runner = Task { try await listener.run() }
        try await Task.sleep(for: .milliseconds(500))
        runner.cancel()
        let start = ContinuousClock.now
        try await runner.value
        #expect(ContinuousClock.now - start < .seconds(3))
    }
}
