import EmbeddedPostgres
import Foundation
import LocalCluster
import PileSimulator
import Testing
import TestSupport

/// The faults real deployments see: the database restarting under running instances,
/// and an instance killed behind the load balancer.
@Suite("Faults", .serialized)
struct FaultTests {
    @Test("PostgreSQL restarts: requests fail fast during the outage, everything recovers after, no command lost or doubled")
    func databaseRestart() async throws {
        // A private server: restarting the shared test server would disturb other tests.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chargepile-restart-\(UUID().uuidString)").path
        let postgres = EmbeddedPostgres(dataDirectory: directory, fastAndUnsafe: true)
        try postgres.start()
        defer { try? postgres.stop() }
        try postgres.createDatabaseIfMissing("chargepile")
        try await Cluster.run(instances: 2, databaseURL: postgres.conninfo(database: "chargepile")) { cluster in
            let pile = try await cluster.connectPile(1, to: cluster.urls[0])
            let admin = try await cluster.adminToken(cluster.urls[1])
            #expect(try await cluster.setStatus("on", pile: 1, via: cluster.urls[1], token: admin)["code"] as? Int == 200)
            guard case .setStatus("on", _) = try await pile.next() else { throw TestFailure("no command before the outage") }

            try postgres.stop()
            for url in cluster.urls {
                let started = ContinuousClock.now
                let reply = try await HTTP.call(.get, url + "/admin/charge/status/get", ["token": admin])
                #expect(reply["code"] as? Int == -1)
                #expect(ContinuousClock.now - started < .seconds(2), "answered within 2 s during the outage")
                let command = try await cluster.setStatus("off", pile: 1, via: url, token: admin)
                #expect(command["code"] as? Int == -1)
            }

            try postgres.start()
            // Recovery takes well under a second alone (0.02-0.15 s measured, also beside two busy loops); the
            // bound catches a recovery that stalls (a retry that never comes, a pause grown long), not a machine
            // busy with the rest of the suite, where it once took 6.2 s against the 5 s bound of before.
            let back = ContinuousClock.now
            try await eventually(timeout: .seconds(15)) {
                try await HTTP.call(.get, cluster.urls[1] + "/admin/charge/status/get", ["token": admin])["code"] as? Int == 200
            }
            // Listeners re-LISTEN within about a second; the requester's row fallback covers the gap.
            try await eventually(timeout: .seconds(15)) {
                try await cluster.setStatus("repair", pile: 1, via: cluster.urls[1], token: admin)["code"] as? Int == 200
            }
            #expect(ContinuousClock.now - back < .seconds(15))
            // Exactly the written commands reached the pile, each once.
            var received: [String] = []
            while let event = try? await pile.next(timeout: .milliseconds(500)) {
                if case .setStatus(let status, _) = event { received.append(status) }
            }
            let written: [String] = try await cluster.pool.query(
                "SELECT status FROM pile_commands WHERE pile_id = 1 AND state = 'written' ORDER BY id OFFSET 1").map { try $0.decode("status") }
            #expect(received == written)
            #expect(written.last == "repair")
            await pile.stop()
        }
    }

    @Test("kill -9 of the instance holding a pile behind nginx: it reconnects to the others, is controllable, totals intact")
    func instanceKilledBehindNginx() async throws {
        try await Cluster.run(instances: 3, nginx: true) { cluster in
            let front = try #require(cluster.nginxURL)
            let admin = try await cluster.adminToken(front)
            // A detail record first, so there are totals to keep.
            try await cluster.pool.execute("UPDATE piles SET total_charging_times = 7, total_charging_kwh = 12.5 WHERE id = 2")
            let pile = try await cluster.connectPile(2, to: front)
            let owner: String = try await cluster.pool.query("""
                SELECT i.address FROM piles p JOIN instances i ON i.id = p.owner_instance WHERE p.id = 2
                """).first!.decode("address")
            let victim = try #require(cluster.instances.first { owner.hasSuffix(":\($0.port)") })
            victim.kill()
            guard case .closed = try await pile.next(timeout: .seconds(10)) else { throw TestFailure("socket survived its instance") }

            let again = try await cluster.connectPile(2, to: front)
            try await eventually(timeout: .seconds(10)) {
                try await cluster.setStatus("on", pile: 2, via: front, token: admin)["code"] as? Int == 200
            }
            var delivered = false
            while let event = try? await again.next(timeout: .seconds(1)) {
                if case .setStatus("on", _) = event { delivered = true }
            }
            #expect(delivered)
            let pileRow = (try await HTTP.call(.get, front + "/admin/charge/status/get", ["token": admin])["data"] as? [[String: Any]])?
                .first { $0["charging_station_id"] as? Int == 2 }
            #expect(pileRow?["total_charging_times"] as? Int == 7)
            #expect(pileRow?["total_charging_power"] as? Double == 12.5)
            await again.stop()
            await pile.stop()
        }
    }
    @Test("kill -9 in the middle of a charger's session, twice: the charger carries on at the other instances, resends what was unanswered, and the session is billed once, to the Wh")
    func instanceKilledMidSession() async throws {
        try await Cluster.run(instances: 3) { cluster in
            let admin = try await cluster.adminToken(cluster.urls[2])
            _ = try await HTTP.call(.post, cluster.urls[2] + "/u/register", ["username": "kim", "password": "secret-pass", "battery_capacity": "40"])
            #expect(try await HTTP.call(.post, cluster.urls[2] + "/admin/idtags", ["token": admin, "id_tag": "CARD-KIM", "username": "kim"])["code"] as? Int == 200)
            /// The charger's socket to one instance; a new one can claim the pile once the killed owner is declared dead.
            func connect(_ instance: ServeProcess) async throws -> OCPPCharger {
                var charger: OCPPCharger?
                try await eventually(timeout: .seconds(20)) {
                    charger = try? await OCPPCharger(socket: RawWebSocket.open(
                        port: instance.port, path: "/ocpp/3", headers: ["Sec-WebSocket-Protocol: ocpp1.6", OCPPCharger.basic("3", TestServer.pilePassword)]))
                    return charger != nil
                }
                return charger!
            }
            func meterValues(_ transactionID: Int, _ register: Int) -> String {
                #"{"connectorId":1,"transactionId":\#(transactionID),"meterValue":[{"timestamp":"\#(ISO8601Format.string(Date()))","sampledValue":[{"value":"\#(register)","measurand":"Energy.Active.Import.Register","unit":"Wh"}]}]}"#
            }

            var charger = try await connect(cluster.instances[0])
            _ = try await charger.call("StatusNotification", #"{"connectorId":1,"errorCode":"NoError","status":"Available"}"#)
            let started = try await charger.call("StartTransaction", #"{"connectorId":1,"idTag":"CARD-KIM","meterStart":500,"timestamp":"\#(ISO8601Format.string(Date()))"}"#)
            #expect((started["idTagInfo"] as? [String: Any])?["status"] as? String == "Accepted")
            let transactionID = try #require(started["transactionId"] as? Int)
            _ = try await charger.call("MeterValues", meterValues(transactionID, 501))
            // The instance dies with a MeterValues in flight, unanswered.
            try await charger.send(#"[2,"mv-2","MeterValues",\#(meterValues(transactionID, 502))]"#)
            cluster.instances[0].kill()

            charger = try await connect(cluster.instances[1])
            _ = try await charger.call("MeterValues", meterValues(transactionID, 502))
            _ = try await charger.call("MeterValues", meterValues(transactionID, 503))
            // The next dies with the StopTransaction in flight: committed or not, the resent one closes it once.
            let stop = #"{"transactionId":\#(transactionID),"meterStop":504,"timestamp":"\#(ISO8601Format.string(Date()))","reason":"Local"}"#
            try await charger.send(#"[2,"stop-1","StopTransaction",\#(stop)]"#)
            cluster.instances[1].kill()

            charger = try await connect(cluster.instances[2])
            _ = try await charger.call("StopTransaction", stop)
            let bills = try await cluster.pool.query("""
                SELECT (b.energy_kwh * 1000)::int AS wh FROM bills b JOIN drivers d ON d.id = b.driver_id WHERE d.username = 'kim'
                """).map { try $0.decode("wh", as: Int.self) }
            #expect(bills == [4])
            let open: Int = try await cluster.pool.query("SELECT count(*)::int AS n FROM ocpp_transactions WHERE stopped_at IS NULL").first!.decode("n")
            #expect(open == 0)
            let active: Int = try await cluster.pool.query("""
                SELECT count(*)::int AS n FROM charging_requests WHERE state IN ('waiting', 'displaced', 'queued', 'charging')
                """).first!.decode("n")
            let requests: String = try await cluster.pool.query("SELECT string_agg(id || ':' || state || ':' || coalesce(pile_id::text, '-'), ', ') AS r FROM charging_requests").first!.decode("r")
            #expect(active == 0, "\(requests)")
        }
    }
}
