@testable import ChargingServer
import Foundation
import Logging
import PileSimulator
import Testing
import TestSupport

/// Piles over WebSocket on one instance: login, welcome, admin commands, own status,
/// bad frames, replacement and offline.
@Suite("Pile WebSocket")
struct PileSessionTests {
    @Test("a connecting pile starts off; status/set reaches it and its status follows")
    func commandReachesPile() async throws {
        try await TestServer.run { api in
            let admin = try await api.adminToken()
            let pile = try await ConnectedPile.open(api, pileID: 1)
            #expect(try await pile.next() == .welcome(status: "off"))
            #expect(try await api.pileStatus(1, token: admin) == "off")

            let reply = try await api.call(.post, "/admin/charge/status/set", query: ["token": admin, "id": "1", "status": "on"])
            #expect(reply.code == 200)
            #expect(reply.msg == "设置成功")
            guard case .setStatus("on", let commandID) = try await pile.next() else { throw TestFailure("no set_status") }
            #expect(try await api.pileStatus(1, token: admin) == "on")
            let command = try await api.pool.query("SELECT status, state FROM pile_commands WHERE id = \(commandID)").first!
            #expect(try command.decode("state", as: String.self) == "written")

            // The pile's own button (repair = fault) overrides what the admin set.
            try await pile.simulated.send(status: "repair")
            try await eventually { try await api.pileStatus(1, token: admin) == "repair" }
            await pile.stop()
        }
    }

    @Test("bad frames get an error frame and the pile stays connected; oversized frames close with 1009")
    func badFrames() async throws {
        try await TestServer.run { api in
            let pile = try await ConnectedPile.open(api, pileID: 2)
            _ = try await pile.next()
            for frame in ["not json", #"{"type":"dance"}"#, #"{"type":"status","status":7}"#, #"{"type":"status","status":"offline"}"#,
                          #"{"type":"meter","request_id":"x","energy_kwh":1}"#, #"{"type":"ack","command_id":999999}"#, "[1,2]"] {
                try await pile.simulated.sendRaw(frame)
                guard case .error = try await pile.next() else { throw TestFailure("no error frame for \(frame)") }
            }
            try await pile.simulated.send(status: "on")
            let admin = try await api.adminToken()
            try await eventually { try await api.pileStatus(2, token: admin) == "on" }
            try await pile.simulated.sendRaw(#"{"type":"status","status":""# + String(repeating: "x", count: 70_000) + #""}"#)
            guard case .closed(let code, _) = try await pile.next() else { throw TestFailure("not closed") }
            #expect(code == 1009)
            try await eventually { try await api.pileStatus(2, token: admin) == "offline" }
        }
    }

    @Test("offline: the socket closes and the admin cannot control the pile until it logs in again")
    func offline() async throws {
        try await TestServer.run { api in
            let admin = try await api.adminToken()
            let pile = try await ConnectedPile.open(api, pileID: 3)
            _ = try await pile.next()
            let reply = try await api.call(.post, "/admin/charge/status/set", query: ["token": admin, "id": "3", "status": "offline"])
            #expect(reply.code == 200)
            guard case .setStatus("offline", _) = try await pile.next() else { throw TestFailure("no set_status") }
            guard case .closed(1000, _) = try await pile.next() else { throw TestFailure("not closed with 1000") }
            try await eventually { try await api.pileStatus(3, token: admin) == "offline" }
            let again = try await api.call(.post, "/admin/charge/status/set", query: ["token": admin, "id": "3", "status": "on"])
            #expect(again.msg == "充电桩离线")
            let back = try await ConnectedPile.open(api, pileID: 3)
            #expect(try await back.next() == .welcome(status: "off"))
            let control = try await api.call(.post, "/admin/charge/status/set", query: ["token": admin, "id": "3", "status": "on"])
            #expect(control.code == 200)
            await back.stop()
        }
    }

    @Test("a newer connection replaces the older one with 4000")
    func replaced() async throws {
        try await TestServer.run { api in
            let first = try await ConnectedPile.open(api, pileID: 4)
            _ = try await first.next()
            let second = try await ConnectedPile.open(api, pileID: 4)
            _ = try await second.next()
            guard case .closed(4000, _) = try await first.next() else { throw TestFailure("older socket not replaced") }
            let admin = try await api.adminToken()
            #expect(try await api.pileStatus(4, token: admin) == "off")
            let reply = try await api.call(.post, "/admin/charge/status/set", query: ["token": admin, "id": "4", "status": "on"])
            #expect(reply.code == 200)
            guard case .setStatus("on", _) = try await second.next() else { throw TestFailure("command went nowhere") }
            await second.stop()
        }
    }

    @Test("pings: a pile that answers stays; one that misses two pongs is closed (1001) and goes offline")
    func liveness() async throws {
        // A second between pings: missing two pongs takes 2 s of silence, which a busy test machine doesn't fake.
        try await TestServer.run(configure: { $0.pingInterval = .seconds(1) }) { api in
            let admin = try await api.adminToken()
            let pile = try await api.rawPileSocket(1)
            // The timer starts at the upgrade: on a busy machine a ping may come before the welcome.
            #expect(try await pile.receiveAnsweringPings()?.text.contains("welcome") == true)
            // Answered on the reading thread, so a busy test process can't make the pongs late.
            let silentSince = try await pile.answerPings(4)
            // Then silence: pings (at least two: a late last pong may have overlapped one more) and 1001.
            var pings = 0
            var closedAt: ContinuousClock.Instant?
            while closedAt == nil, let frame = try await pile.receive() {
                if frame.opcode == RawWebSocket.ping { pings += 1 } else { #expect(frame.closeCode == 1001); closedAt = .now }
            }
            #expect(pings >= 2)
            #expect(try #require(closedAt) - silentSince >= .seconds(2))
            #expect(try await pile.receive() == nil)
            try await eventually { try await api.pileStatus(1, token: admin) == "offline" }
        }
    }

    @Test("a client that floods pings and never reads gets a bounded number of pongs; other piles are unaffected")
    func pingFlood() async throws {
        // Served, not served fast: while the flood is read, a busy machine may take more than the suite's 2 s.
        try await TestServer.run(configure: { $0.commandTimeout = .seconds(15) }) { api in
            let admin = try await api.adminToken()
            let flooder = try await api.rawPileSocket(1)
            #expect(try await flooder.receive()?.text.contains("welcome") == true)
            let other = try await ConnectedPile.open(api, pileID: 2)
            #expect(try await other.next() == .welcome(status: "off"))
            // 20,000 pings with 100-byte payloads (2.4 MB), written at once, none of the answers read.
            try await flooder.send(RawWebSocket.ping, Array(repeating: 0x70, count: 100), times: 20_000)
            let reply = try await api.call(.post, "/admin/charge/status/set", query: ["token": admin, "id": "2", "status": "on"])
            #expect(reply.code == 200)
            guard case .setStatus("on", _) = try await other.next(timeout: .seconds(15)) else { throw TestFailure("the other pile was not served") }
            var pongs = 0
            while let frame = try await flooder.receive(timeout: .milliseconds(500)), frame.opcode == RawWebSocket.pong { pongs += 1 }
            #expect(pongs <= PileSocketStateMachine.maxPongsPerInterval * 2)
            await other.stop()
        }
    }

    @Test("protocol corners: fragments are joined; unmasked frames close with 1002, text that is not UTF-8 with 1007, a flood with 1008")
    func protocolCorners() async throws {
        try await TestServer.run { api in
            let admin = try await api.adminToken()
            let pile = try await api.rawPileSocket(2)
            _ = try await pile.receive()
            try await pile.send(text: #"{"type":"sta"#, fin: false)
            try await pile.send(RawWebSocket.continuation, Array(#"tus","status":"on"}"#.utf8))
            try await eventually { try await api.pileStatus(2, token: admin) == "on" }
            try await pile.send(RawWebSocket.text, Array(#"{"type":"status","status":"off"}"#.utf8), masked: false)
            #expect(try await pile.receive()?.closeCode == 1002)
            #expect(try await api.pileStatus(2, token: admin) != "off")

            let other = try await api.rawPileSocket(3)
            _ = try await other.receive()
            try await other.send(RawWebSocket.text, [0xC3, 0x28])
            #expect(try await other.receive()?.closeCode == 1007)
            try await eventually { try await api.pileStatus(3, token: admin) == "offline" }

            // 500 frames in one burst: far more than can wait while each is applied in turn.
            let flooding = try await api.rawPileSocket(4)
            _ = try await flooding.receive()
            try await flooding.send(burst: Array(repeating: #"{"type":"ack","command_id":1}"#, count: 500))
            var closeCode: Int?
            while closeCode == nil, let frame = try await flooding.receive() {
                closeCode = frame.closeCode
                if closeCode == nil { #expect(frame.text.contains("error")) }
            }
            #expect(closeCode == 1008)
        }
    }

    @Test("a pile the database says this instance holds, without a socket here (its release lost in an outage), goes offline")
    func orphanedOwnership() async throws {
        try await TestServer.run(configure: { $0.instanceExpiry = .seconds(2) }) { api in
            let admin = try await api.adminToken()
            let held = try await ConnectedPile.open(api, pileID: 1)
            _ = try await held.next()
            let instance: UUID = try await api.pool.query("SELECT id FROM instances").first!.decode("id")
            try await api.pool.execute("""
                UPDATE piles SET owner_instance = \(instance), owner_epoch = owner_epoch + 1, status = 'on',
                                 connected_since = now() - interval '1 minute'
                WHERE id = 5
                """)
            try await eventually { try await api.pileStatus(5, token: admin) == "offline" }
            let owner: UUID? = try await api.pool.query("SELECT owner_instance FROM piles WHERE id = 5").first!.decode("owner_instance")
            #expect(owner == nil)
            // The pile with a live socket here is left alone.
            try await Task.sleep(for: .seconds(3))
            #expect(try await api.pileStatus(1, token: admin) == "off")
            await held.stop()
        }
    }

    @Test("a connection that sends no request is closed after the idle timeout")
    func silentConnection() async throws {
        try await TestServer.run(configure: { $0.idleTimeout = .milliseconds(500) }) { api in
            let silent = try await RawWebSocket.connect(port: api.client.port!)
            let connectedAt = ContinuousClock.now
            #expect(try await silent.receive(timeout: .seconds(5)) == nil)
            #expect(ContinuousClock.now - connectedAt < .seconds(3))
        }
    }

    @Test("only pile tokens open /p/ws, and pile tokens open nothing else")
    func roles() async throws {
        try await TestServer.run { api in
            let admin = try await api.adminToken()
            let upgrade = try await api.call(.get, "/p/ws", query: ["token": admin])
            #expect(upgrade.code == -1)
            #expect(upgrade.msg == "token无效或已过期")
            // Real upgrade requests that are refused get the -1 envelope over HTTP, not 101 (and no hang).
            let pileToken = try await api.pileToken(5)
            let refusals = [("/p/ws?token=\(admin)", "dGhlIHNhbXBsZSBub25jZQ==", "token无效或已过期"),
                            ("/a/login?token=\(pileToken)", "dGhlIHNhbXBsZSBub25jZQ==", "该地址不支持WebSocket"),
                            ("/p/ws?token=\(pileToken)", nil, "WebSocket握手无效")]
            for (path, key, message) in refusals {
                do {
                    _ = try await RawWebSocket.open(port: api.client.port!, path: path, key: key)
                    Issue.record("\(path) was upgraded")
                } catch let refusal as TestFailure {
                    #expect(refusal.description.hasPrefix("not upgraded: HTTP/1.1 200"))
                    #expect(refusal.description.hasSuffix(#"{"code":-1,"msg":"\#(message)"}"#))
                }
            }
            let adminCall = try await api.call(.get, "/admin/charge/status/get", query: ["token": pileToken])
            #expect(adminCall.msg == "token无效或已过期")
            let driverCall = try await api.call(.get, "/user/charge/request", query: ["token": pileToken])
            #expect(driverCall.msg == "token无效或已过期")
            let wrongPassword = try await api.call(.post, "/p/login", body: .form(["id": "5", "password": "nope"]))
            #expect(wrongPassword.msg == "用户名或密码错误")
        }
    }
}

extension TestAPI {
    /// Pile `pileID` logged in and upgraded over a bare socket.
    func rawPileSocket(_ pileID: Int) async throws -> RawWebSocket {
        try await RawWebSocket.open(port: client.port!, path: "/p/ws?token=\(try await pileToken(pileID))")
    }
}

/// A simulated pile running in the background of a test, with its events readable in order.
struct ConnectedPile: Sendable {
    let simulated: SimulatedPile
    let task: Task<Void, Never>
    let events: EventReader<PileSimulatorEvent>

    static func open(_ api: TestAPI, pileID: Int, baseURL: String? = nil) async throws -> ConnectedPile {
        var logger = Logger(label: "test.pile")
        logger.logLevel = ProcessInfo.processInfo.environment["TEST_PILE_LOG"] != nil ? .debug : .warning
        let simulated = SimulatedPile(PileSimulatorConfiguration(baseURL: baseURL ?? api.baseURL, pileID: pileID,
                                                                 password: TestServer.pilePassword), logger: logger)
        let task = Task { _ = try? await simulated.run() }
        return ConnectedPile(simulated: simulated, task: task, events: EventReader(simulated.events))
    }

    func next(timeout: Duration = .seconds(20)) async throws -> PileSimulatorEvent {
        try await events.next(timeout: timeout)
    }

    func stop() async {
        task.cancel()
        await task.value
    }
}

/// Collects a stream in the background; tests take its elements in order, with a deadline.
actor EventReader<Element: Sendable> {
    private var items: [Element] = []
    private var ended = false

    init(_ stream: AsyncStream<Element>) {
        Task { [weak self] in
            for await item in stream { await self?.append(item) }
            await self?.end()
        }
    }

    private func append(_ item: Element) { items.append(item) }
    private func end() { ended = true }

    func next(timeout: Duration) async throws -> Element {
        let deadline = ContinuousClock.now + timeout
        while items.isEmpty {
            if ended { throw TestFailure("stream ended") }
            if ContinuousClock.now > deadline { throw TestFailure("no event within \(timeout)") }
            try await Task.sleep(for: .milliseconds(10))
        }
        return items.removeFirst()
    }
}

extension TestAPI {
    func pileStatus(_ pileID: Int, token: String) async throws -> String? {
        try await call(.get, "/admin/charge/status/get", query: ["token": token]).rows
            .first { $0["charging_station_id"] as? Int == pileID }?["status"] as? String
    }
}
