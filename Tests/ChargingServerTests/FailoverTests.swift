import ChargingDomain
@testable import EmbeddedPostgres
import Foundation
import PileSimulator
import Synchronization
import Testing
import TestSupport

/// PostgreSQL failover as a property of the product: `scripts/pg-failover-pair` starts a primary and a
/// synchronous standby on loopback, the instance runs on the multi-host DATABASE_URL it prints, and the
/// primary stops at once (a crash) and the standby is promoted while admins, drivers and an OCPP charger
/// keep calling. Every call is answered within its deadline, each kind works again within 10 s of the
/// promotion, and everything answered `200` or with a CALLRESULT is in the promoted database.
@Suite("PostgreSQL failover")
struct FailoverTests {
    /// How long any one call may take, outage or not: a call that takes longer hangs.
    static let callDeadline: Duration = .seconds(15)
    static let recoveryGoal: Duration = .seconds(10)

    @Test("a primary crash and a promotion under traffic: no call hangs, all works again within 10 s, nothing acknowledged is lost")
    func failoverUnderTraffic() async throws {
        let pair = try FailoverPair.start()
        defer { pair.stop() }
        try await TestServer.run(databaseURL: pair.databaseURL) { api in
            let admin = try await api.adminToken()
            let pile = try await ConnectedPile.open(api, pileID: 1)
            defer { Task { await pile.stop() } }
            _ = try await pile.next()
            let charger = try await OCPPCharger.connect(api, chargePointID: "3")
            _ = try await charger.call("BootNotification", #"{"chargePointVendor":"ACME","chargePointModel":"X1"}"#)
            let traffic = Traffic()

            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await Self.adminLoop(api, admin: admin, traffic: traffic) }
                group.addTask { try await Self.driverLoop(api, traffic: traffic) }
                group.addTask { try await Self.chargerLoop(charger, traffic: traffic) }
                try await eventually("traffic before the failover", timeout: .seconds(60)) { traffic.everyKindAcknowledged(atLeast: 3) }
                let promoted = try pair.failOver()
                traffic.failedOver(at: promoted)
                try await eventually("every kind answered again after the promotion", timeout: .seconds(60)) {
                    traffic.everyKindRecovered(acknowledgedSince: 3)
                }
                traffic.stop()
                try await group.waitForAll()
            }

            let counts = Traffic.Kind.allCases.map { "\($0.rawValue) \(traffic.acknowledgements($0).count)" }.joined(separator: ", ")
            let recoveries = traffic.recoveries().map { "\($0.0.rawValue) \($0.1)" }.joined(separator: ", ")
            print("failover: acknowledged \(counts); worked again after the promotion: \(recoveries); slowest call \(traffic.slowestCall())")
            for (kind, recovery) in traffic.recoveries() {
                #expect(recovery <= Self.recoveryGoal, "\(kind) worked again \(recovery) after the promotion")
            }
            #expect(traffic.slowestCall() < Self.callDeadline)
            try await Self.expectNothingLost(api, traffic: traffic)
        }
    }

    /// Switches pile 1 on and off; each `设置成功` is a `written` status row.
    static func adminLoop(_ api: TestAPI, admin: String, traffic: Traffic) async throws {
        var on = true
        while traffic.running {
            let status = on ? "on" : "off"
            let reply = try await traffic.timed(.admin) {
                try await api.call(.post, "/admin/charge/status/set", query: ["token": admin, "id": "1", "status": status])
            }
            if reply.code == 200 { traffic.acknowledged(.admin, status) }
            on.toggle()
        }
    }

    /// Three drivers take turns: each submits a request and cancels it; each answered `200` is a row in its state.
    static func driverLoop(_ api: TestAPI, traffic: Traffic) async throws {
        var tokens: [String] = []
        for number in 1...3 { tokens.append(try await api.driverToken("failover-\(number)")) }
        var turn = 0
        while traffic.running {
            let token = tokens[turn % tokens.count]
            turn += 1
            let submitted = try await traffic.timed(.driver) {
                try await api.call(.post, "/user/charge/request", body: .form(["token": token, "mode": "T", "request_quantity": "5"]))
            }
            if submitted.code == 200, let id = (submitted.data as? [String: Any])?["request_id"] as? Int {
                traffic.acknowledged(.driver, "queued \(id)")
            }
            // The car must leave, or the waiting area fills (a submit that failed may still have committed): cancel until it has.
            let cancelDeadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < cancelDeadline {
                let current = try await traffic.timed(.driver) { try await api.call(.get, "/user/charge/request", query: ["token": token]) }
                if current.msg == StationError.noActiveRequest.message { break }
                guard let id = (current.data as? [String: Any])?["request_id"] as? Int else { continue }
                let cancelled = try await traffic.timed(.driver) { try await api.call(.post, "/user/charge/request/cancel", body: .form(["token": token])) }
                if cancelled.code == 200 { traffic.acknowledged(.driver, "cancelled \(id)"); break }
            }
        }
    }

    /// StatusNotifications whose `info` counts: the stored one is the last answered, or a later one.
    static func chargerLoop(_ charger: OCPPCharger, traffic: Traffic) async throws {
        var number = 0
        while traffic.running {
            number += 1
            let info = "n\(number)"
            let answered = try await traffic.timed(.charger) {
                try await charger.callOrError("StatusNotification", #"{"connectorId":1,"errorCode":"NoError","status":"Available","info":"\#(info)"}"#)
            }
            if answered { traffic.acknowledged(.charger, "n\(number)") }
        }
    }

    static func expectNothingLost(_ api: TestAPI, traffic: Traffic) async throws {
        let written: Int = try await api.pool.query(
            "SELECT count(*)::bigint AS n FROM pile_commands WHERE pile_id = 1 AND status IS NOT NULL AND state = 'written'").first!.decode("n")
        let adminAcks = traffic.acknowledgements(.admin)
        #expect(written >= adminAcks.count, "\(adminAcks.count) status commands answered 200, \(written) written rows")

        for ack in traffic.acknowledgements(.driver) {
            let parts = ack.split(separator: " ")
            let (what, requestID) = (String(parts[0]), Int64(parts[1])!)
            let state: String? = try await api.pool.query("SELECT state FROM charging_requests WHERE station_id = 1 AND id = \(requestID)")
                .first?.decode("state")
            #expect(state != nil && (what == "queued" || state == "cancelled"), "\(ack) was answered 200; the database has \(state ?? "no row")")
        }

        let lastInfo = try #require(traffic.acknowledgements(.charger).last)
        let stored: String? = try await api.pool.query("SELECT connector_info FROM piles WHERE id = 3").first!.decode("connector_info")
        let storedNumber = Int(stored?.dropFirst() ?? "") ?? 0
        #expect(storedNumber >= Int(lastInfo.dropFirst())!, "the charger's \(lastInfo) was answered, the database holds \(stored ?? "nothing")")
    }
}

/// What the three kinds of callers were answered, and when.
final class Traffic: Sendable {
    enum Kind: String, CaseIterable, Sendable { case admin, driver, charger }

    private struct State {
        var running = true
        var acknowledgements: [Kind: [(String, ContinuousClock.Instant)]] = [:]
        var promotedAt: ContinuousClock.Instant?
        var slowest: Duration = .zero
    }
    private let state = Mutex(State())

    var running: Bool { state.withLock { $0.running } }
    func stop() { state.withLock { $0.running = false } }
    func failedOver(at instant: ContinuousClock.Instant) { state.withLock { $0.promotedAt = instant } }

    func acknowledged(_ kind: Kind, _ what: String) {
        state.withLock { $0.acknowledgements[kind, default: []].append((what, .now)) }
    }

    func acknowledgements(_ kind: Kind) -> [String] { state.withLock { ($0.acknowledgements[kind] ?? []).map(\.0) } }

    func everyKindAcknowledged(atLeast count: Int) -> Bool {
        state.withLock { state in Kind.allCases.allSatisfy { (state.acknowledgements[$0]?.count ?? 0) >= count } }
    }

    func everyKindRecovered(acknowledgedSince count: Int) -> Bool {
        state.withLock { state in
            guard let promoted = state.promotedAt else { return false }
            return Kind.allCases.allSatisfy { kind in (state.acknowledgements[kind] ?? []).filter { $0.1 > promoted }.count >= count }
        }
    }

    /// Per kind: from the promotion to its first acknowledgement after it.
    func recoveries() -> [(Kind, Duration)] {
        state.withLock { state in
            Kind.allCases.compactMap { kind in
                guard let promoted = state.promotedAt, let first = state.acknowledgements[kind]?.first(where: { $0.1 > promoted }) else { return nil }
                return (kind, first.1 - promoted)
            }
        }
    }

    func slowestCall() -> Duration { state.withLock { $0.slowest } }

    /// Runs one call and keeps the slowest; a call past `FailoverTests.callDeadline` fails the test as hung.
    func timed<Value: Sendable>(_ kind: Kind, _ call: @Sendable () async throws -> Value) async throws -> Value {
        let start = ContinuousClock.now
        let value = try await call()
        let took = ContinuousClock.now - start
        state.withLock { $0.slowest = max($0.slowest, took) }
        if took >= FailoverTests.callDeadline { throw TestFailure("a \(kind.rawValue) call took \(took)") }
        return value
    }
}

/// `scripts/pg-failover-pair` in a temporary folder.
struct FailoverPair {
    let directory: String
    let databaseURL: String

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/pg-failover-pair").path

    static func start() throws -> FailoverPair {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chargepile-failover-\(UUID().uuidString.prefix(8))").path
        let output = try run("start", directory)
        guard let url = output.split(separator: "\n").last(where: { $0.hasPrefix("host=") }) else {
            throw TestFailure("pg-failover-pair start printed no DATABASE_URL: \(output)")
        }
        return FailoverPair(directory: directory, databaseURL: String(url))
    }

    /// Crashes the primary and promotes the standby; returns when the promotion is done.
    func failOver() throws -> ContinuousClock.Instant {
        _ = try Self.run("fail", directory)
        return .now
    }

    func stop() {
        _ = try? Self.run("stop", directory)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// posix_spawn through `CommandRunner`, not Foundation's Process: the servers the script leaves running would keep
    /// Process waiting for ever.
    @discardableResult
    static func run(_ command: String, _ directory: String) throws -> String {
        let output = try CommandRunner().run(script, [command, directory])
        guard output.succeeded else { throw TestFailure("pg-failover-pair \(command) failed: \(output.text)") }
        return output.text
    }
}

extension OCPPCharger {
    /// Sends a CALL: true for a CALLRESULT, false for a CALLERROR (the server may refuse while its database is away).
    func callOrError(_ action: String, _ payload: String) async throws -> Bool {
        let id = UUID().uuidString
        try await send(#"[2,"\#(id)","\#(action)",\#(payload)]"#)
        while true {
            // Bounded: a CALL the server leaves unanswered fails the test instead of hanging it.
            guard let frame = try await socket.receive(timeout: FailoverTests.callDeadline) else {
                throw TestFailure("\(action) unanswered within \(FailoverTests.callDeadline), or the socket closed")
            }
            guard frame.opcode == RawWebSocket.text,
                  let answer = try JSONSerialization.jsonObject(with: Data(frame.payload)) as? [Any],
                  answer.count >= 2, answer[1] as? String == id
            else { continue }
            return answer.first as? Int == 3
        }
    }
}
