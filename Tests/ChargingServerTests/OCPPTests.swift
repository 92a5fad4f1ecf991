import ChargingDomain
import ChargingStore
import Foundation
import PileSimulator
import Testing
import TestSupport

/// OCPP 1.6J chargers against a live instance, through a raw WebSocket client (so the tests can
/// send what a charger library never would). PyPI's mobilityhouse `ocpp` drives a cluster in
/// `scripts/ocpp-test`; these pin the protocol corners.
@Suite("OCPP 1.6J central system")
struct OCPPTests {
    @Test("the handshake: no ocpp1.6 subprotocol 400, unknown charger 404, bad credentials 401, else 101 with ocpp1.6")
    func handshake() async throws {
        // Many refusals in a row from one address: the login throttle has its own test (handshakeThrottle).
        try await TestServer.run(configure: { $0.loginDefence.accountFreeFailures = 100; $0.loginDefence.addressFreeFailures = 100 }) { api in
            let port = api.client.port!
            let good = OCPPCharger.basic("1", TestServer.pilePassword)
            let cases: [(path: String, headers: [String], status: String)] = [
                ("/ocpp/1", [good], "400"),
                ("/ocpp/1", ["Sec-WebSocket-Protocol: ocpp2.0.1", good], "400"),
                ("/ocpp/CP-404", ["Sec-WebSocket-Protocol: ocpp1.6", OCPPCharger.basic("CP-404", TestServer.pilePassword)], "404"),
                ("/ocpp/1", ["Sec-WebSocket-Protocol: ocpp1.6"], "401"),
                ("/ocpp/1", ["Sec-WebSocket-Protocol: ocpp1.6", OCPPCharger.basic("1", "wrong")], "401"),
                ("/ocpp/1", ["Sec-WebSocket-Protocol: ocpp1.6", OCPPCharger.basic("2", TestServer.pilePassword)], "401"),
            ]
            for (path, headers, status) in cases {
                let (socket, head) = try await RawWebSocket.handshake(port: port, path: path, headers: headers)
                #expect(socket == nil)
                #expect(head.hasPrefix("HTTP/1.1 \(status)"), "\(headers): \(head)")
            }
            let (_, challenge) = try await RawWebSocket.handshake(port: port, path: "/ocpp/1", headers: ["Sec-WebSocket-Protocol: ocpp1.6"])
            #expect(challenge.lowercased().contains("www-authenticate: basic"))
            // Nothing was upgraded, so no pile is connected.
            #expect(try await api.pileStatus(1, token: try await api.adminToken()) == "offline")

            let (socket, head) = try await RawWebSocket.handshake(
                port: port, path: "/ocpp/1", headers: ["Sec-WebSocket-Protocol: ocpp1.6, ocpp2.0", good])
            #expect(socket != nil)
            #expect(head.lowercased().contains("sec-websocket-protocol: ocpp1.6"))
        }
    }

    @Test("a charger's secret is checked against a salted SHA-256 beside the bcrypt hash; a new password drops it until the next good login")
    func secretDigest() async throws {
        try await TestServer.run { api in
            let port = api.client.port!
            let digests: Int = try await api.pool.query("SELECT count(secret_digest) AS n FROM piles").first!.decode("n")
            #expect(digests == 5, "first start keeps a digest for every pile")
            // A password set in psql (bcrypt of 'new-secret'): the digest goes with the old one.
            try await api.pool.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")
            try await api.pool.execute("UPDATE piles SET password_hash = crypt('new-secret', gen_salt('bf', 4)) WHERE id = 2")
            let cleared: Bool = try await api.pool.query("SELECT secret_digest IS NULL AS cleared FROM piles WHERE id = 2").first!.decode("cleared")
            #expect(cleared)
            let (old, _) = try await RawWebSocket.handshake(port: port, path: "/ocpp/2",
                                                          headers: ["Sec-WebSocket-Protocol: ocpp1.6", OCPPCharger.basic("2", TestServer.pilePassword)])
            #expect(old == nil, "the old password no longer opens")
            let (new, _) = try await RawWebSocket.handshake(port: port, path: "/ocpp/2",
                                                          headers: ["Sec-WebSocket-Protocol: ocpp1.6", OCPPCharger.basic("2", "new-secret")])
            #expect(new != nil)
            let stored: Bool = try await api.pool.query("SELECT secret_digest IS NOT NULL AS stored FROM piles WHERE id = 2").first!.decode("stored")
            #expect(stored, "the good login keeps the new digest")
        }
    }

    @Test("failed handshakes count like failed logins: after the account's free failures a charger gets 429, the right password too, and every attempt is audited")
    func handshakeThrottle() async throws {
        // Waits far longer than a slow run can take between attempts, so the throttle can't lapse mid-test.
        try await TestServer.run(configure: { $0.loginDefence.baseDelay = .seconds(60); $0.loginDefence.maxDelay = .seconds(60) }) { api in
            let port = api.client.port!
            let good = ["Sec-WebSocket-Protocol: ocpp1.6", OCPPCharger.basic("4", TestServer.pilePassword)]
            let bad = ["Sec-WebSocket-Protocol: ocpp1.6", OCPPCharger.basic("4", "guess")]
            var statuses: [String] = []
            for _ in 0..<5 {
                let (_, head) = try await RawWebSocket.handshake(port: port, path: "/ocpp/4", headers: bad)
                statuses.append(String(head.dropFirst("HTTP/1.1 ".count).prefix(3)))
            }
            #expect(statuses.prefix(3).allSatisfy { $0 == "401" }, "\(statuses)")
            #expect(statuses.last == "429", "\(statuses)")
            let (socket, head) = try await RawWebSocket.handshake(port: port, path: "/ocpp/4", headers: good)
            #expect(socket == nil && head.hasPrefix("HTTP/1.1 429"), "the right password waits too: \(head)")
            let audited: Int = try await api.pool.query("""
                SELECT count(*) AS n FROM auth_events WHERE role = 'pile' AND username = '4' AND outcome IN ('failure', 'throttled')
                """).first!.decode("n")
            #expect(audited == 6)
        }
    }

    @Test("boot and status: Available is on, Faulted is repair, Unavailable is off; boot info is stored")
    func bootAndStatus() async throws {
        try await TestServer.run { api in
            let admin = try await api.adminToken()
            let charger = try await OCPPCharger.connect(api, chargePointID: "3")
            let boot = try await charger.call("BootNotification", #"{"chargePointVendor":"ACME","chargePointModel":"X1","firmwareVersion":"1.2"}"#)
            #expect(boot["status"] as? String == "Accepted")
            #expect(boot["interval"] as? Int == 300)
            let now = try #require(ISO8601DateFormatter.withFractions.date(from: boot["currentTime"] as? String ?? ""))
            #expect(abs(now.timeIntervalSinceNow) < 60)

            for (status, expected) in [("Available", "on"), ("Faulted", "repair"), ("Unavailable", "off"), ("Charging", "on")] {
                _ = try await charger.call("StatusNotification", #"{"connectorId":1,"errorCode":"NoError","status":"\#(status)"}"#)
                #expect(try await api.pileStatus(3, token: admin) == expected, "\(status)")
            }
            let stored: String = try await api.pool.query("SELECT boot_vendor || '/' || boot_model || '/' || boot_firmware AS boot FROM piles WHERE id = 3")
                .first!.decode("boot")
            #expect(stored == "ACME/X1/1.2")
            _ = try await charger.call("Heartbeat", "{}")
            let answer = try await charger.call("DataTransfer", #"{"vendorId":"someone"}"#)
            #expect(answer["status"] as? String == "UnknownVendorId")
        }
    }

    @Test("admin status/set becomes ChangeAvailability; Accepted is 200, Rejected and CALLERROR are -1; offline closes")
    func adminCommands() async throws {
        try await TestServer.run { api in
            let admin = try await api.adminToken()
            let charger = try await OCPPCharger.connect(api, chargePointID: "2")
            _ = try await charger.call("BootNotification", #"{"chargePointVendor":"ACME","chargePointModel":"X1"}"#)

            for (status, type, answer, code) in [
                ("on", "Operative", #"{"status":"Accepted"}"#, 200), ("off", "Inoperative", #"{"status":"Scheduled"}"#, 200),
                ("repair", "Inoperative", #"{"status":"Rejected"}"#, -1),
            ] {
                let command = Task { try await api.call(.post, "/admin/charge/status/set", query: ["token": admin, "id": "2", "status": status]) }
                let call = try await charger.expectCall()
                #expect(call.action == "ChangeAvailability")
                #expect(call.payload["connectorId"] as? Int == 0)
                #expect(call.payload["type"] as? String == type)
                try await charger.reply(call.id, answer)
                let reply = try await command.value
                #expect(reply.code == code, "\(status): \(reply.object)")
                if code == -1 { #expect(reply.msg == "充电桩拒绝了该命令") }
            }
            #expect(try await api.pileStatus(2, token: admin) == "off", "a rejected repair changes nothing")
            let answers: [String] = try await api.pool.query(
                "SELECT state || ':' || coalesce(answer->>'status', '') AS outcome FROM pile_commands WHERE pile_id = 2 ORDER BY id")
                .map { try $0.decode("outcome") }
            #expect(answers == ["written:Accepted", "written:Scheduled", "rejected:Rejected"])

            // A CALLERROR is a refusal too; an operator call passes the charger's answer through.
            let command = Task { try await api.call(.post, "/admin/charge/status/set", query: ["token": admin, "id": "2", "status": "on"]) }
            let call = try await charger.expectCall()
            try await charger.send(#"[4,"\#(call.id)","NotSupported","no",{}]"#)
            #expect(try await command.value.code == -1)
            let operatorCall = Task {
                try await api.call(.post, "/admin/ocpp/call", body: .json(#"{"token":"\#(admin)","id":2,"action":"GetConfiguration","payload":{"key":["HeartbeatInterval"]}}"#))
            }
            let get = try await charger.expectCall()
            #expect(get.action == "GetConfiguration")
            #expect(get.payload["key"] as? [String] == ["HeartbeatInterval"])
            try await charger.reply(get.id, #"{"configurationKey":[{"key":"HeartbeatInterval","readonly":false,"value":"300"}]}"#)
            let passed = try await operatorCall.value
            #expect(passed.code == 200, "\(passed.object)")
            #expect(((passed.data as? [String: Any])?["configurationKey"] as? [[String: Any]])?.first?["value"] as? String == "300")
            let invalid = try await api.call(.post, "/admin/ocpp/call", query: ["token": admin, "id": "2", "action": "Reset", "payload": #"{"type":"Sideways"}"#])
            #expect(invalid.code == -1)
            #expect(invalid.msg?.hasPrefix("payload不符合OCPP 1.6") == true)

            let offline = try await api.call(.post, "/admin/charge/status/set", query: ["token": admin, "id": "2", "status": "offline"])
            #expect(offline.code == 200)
            let end = try await charger.socket.receiveAnsweringPings()
            #expect(end == nil || end?.opcode == RawWebSocket.close, "\(String(describing: end))")
            #expect(try await api.pileStatus(2, token: admin) == "offline")
        }
    }

    @Test("malformed messages get the right CALLERROR, change nothing and leave the socket open")
    func malformedInput() async throws {
        try await TestServer.run { api in
            let admin = try await api.adminToken()
            let charger = try await OCPPCharger.connect(api, chargePointID: "4")
            _ = try await charger.call("StatusNotification", #"{"connectorId":1,"errorCode":"NoError","status":"Available"}"#)
            let before = try await api.databaseFingerprint()
            let cases: [(String, String, String)] = [
                ("not json", "-1", "FormationViolation"),
                (#"{"a":1}"#, "-1", "ProtocolError"),
                (#"[2,"m1","Heartbeat"]"#, "m1", "ProtocolError"),
                (#"[2,"m2","Dance",{}]"#, "m2", "NotImplemented"),
                (#"[2,"m3","RemoteStartTransaction",{"idTag":"x"}]"#, "m3", "NotSupported"),
                (#"[2,"m4","StatusNotification",{"connectorId":"1","errorCode":"NoError","status":"Faulted"}]"#, "m4", "TypeConstraintViolation"),
                (#"[2,"m5","StatusNotification",{"connectorId":1,"status":"Faulted"}]"#, "m5", "ProtocolError"),
                (#"[2,"m6","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Melting"}]"#, "m6", "FormationViolation"),
                (#"[2,"m7","Heartbeat",{"extra":1}]"#, "m7", "FormationViolation"),
                (#"[2,"m8","Authorize",{"idTag":"123456789012345678901"}]"#, "m8", "TypeConstraintViolation"),
            ]
            for (text, id, code) in cases {
                try await charger.send(text)
                let answer = try await charger.nextMessage()
                #expect(answer.count == 5, "\(text): \(answer)")
                #expect(answer.first as? Int == 4)
                #expect(answer[1] as? String == id, "\(text)")
                #expect(answer[2] as? String == code, "\(text): \(answer)")
            }
            #expect(try await api.databaseFingerprint() == before)
            #expect(try await api.pileStatus(4, token: admin) == "on")
            _ = try await charger.call("Heartbeat", "{}")
        }
    }

    @Test("a driver's request charges on an OCPP charger: RemoteStart, StartTransaction (resent: same id), MeterValues, RemoteStop, StopTransaction, one bill")
    func chargingSession() async throws {
        let start = OfficialCase.stationTime("09:00")
        try await TestServer.run(configure: { $0.clock = .init(mode: .manual, start: start) }) { api in
            let admin = try await api.adminToken()
            let charger = try await OCPPCharger.connect(api, chargePointID: "3")
            _ = try await charger.call("BootNotification", #"{"chargePointVendor":"ACME","chargePointModel":"X1"}"#)
            _ = try await charger.call("StatusNotification", #"{"connectorId":1,"errorCode":"NoError","status":"Available"}"#)
            let driver = try await api.driverToken("alice", capacity: "60")
            let submitted = try await api.call(.post, "/user/charge/request", query: ["token": driver, "mode": "T", "request_quantity": "20"])
            #expect(submitted.code == 200)
            let idTag = try #require((try await api.call(.get, "/user/charge/request", query: ["token": driver]).data as? [String: Any])?["id_tag"] as? String)

            let remoteStart = try await charger.expectCall()
            #expect(remoteStart.action == "RemoteStartTransaction")
            #expect(remoteStart.payload["idTag"] as? String == idTag)
            try await charger.reply(remoteStart.id, #"{"status":"Accepted"}"#)
            #expect((try await charger.call("Authorize", #"{"idTag":"\#(idTag)"}"#)["idTagInfo"] as? [String: Any])?["status"] as? String == "Accepted")
            let startPayload = #"{"connectorId":1,"idTag":"\#(idTag)","meterStart":1000,"timestamp":"2024-05-20T01:00:00Z"}"#
            let started = try await charger.call("StartTransaction", startPayload)
            let transactionID = try #require(started["transactionId"] as? Int)
            #expect(transactionID > 0)
            #expect((started["idTagInfo"] as? [String: Any])?["status"] as? String == "Accepted")
            #expect(try await charger.call("StartTransaction", startPayload)["transactionId"] as? Int == transactionID)
            // Someone else's card is not this car.
            let other = try await charger.call("StartTransaction", #"{"connectorId":1,"idTag":"NOBODY","meterStart":1,"timestamp":"2024-05-20T01:00:00Z"}"#)
            #expect((other["idTagInfo"] as? [String: Any])?["status"] as? String == "Invalid")

            // Half an hour at 10 kW models 5 kWh; the charger's register says 4.5 kWh since the start, and wins.
            _ = try await api.call(.post, "/admin/clock/advance", query: ["token": admin, "to": ISO8601Format.string(start.addingTimeInterval(30 * 60))])
            _ = try await charger.call("MeterValues", """
                {"connectorId":1,"transactionId":\(transactionID),"meterValue":[{"timestamp":"2024-05-20T01:30:00Z",\
                "sampledValue":[{"value":"5.5","measurand":"Energy.Active.Import.Register","unit":"kWh"}]}]}
                """)
            let view = try await api.call(.get, "/user/charge/request", query: ["token": driver]).data as? [String: Any]
            #expect(view?["charged_kwh"] as? Double == 4.5)

            let cancel = Task { try await api.call(.post, "/user/charge/request/cancel", query: ["token": driver]) }
            let remoteStop = try await charger.expectCall()
            #expect(remoteStop.action == "RemoteStopTransaction")
            #expect(remoteStop.payload["transactionId"] as? Int == transactionID)
            try await charger.reply(remoteStop.id, #"{"status":"Accepted"}"#)
            #expect(try await cancel.value.code == 200)
            let stopPayload = #"{"transactionId":\#(transactionID),"meterStop":5500,"timestamp":"2024-05-20T01:30:05Z","reason":"Remote"}"#
            _ = try await charger.call("StopTransaction", stopPayload)
            _ = try await charger.call("StopTransaction", stopPayload)
            let bills = try await api.call(.get, "/user/charge/bills", query: ["token": driver]).rows
            #expect(bills.count == 1)
            #expect(bills.first?["energy_kwh"] as? Double == 4.5)
            #expect(bills.first?["total_fee"] as? Double == 6.75)  // 09:00–09:30 flat 0.7 + service 0.8, × 4.5 kWh
            let stored: Int64 = try await api.pool.query("SELECT meter_stop_wh - meter_start_wh AS wh FROM ocpp_transactions WHERE id = \(transactionID)")
                .first!.decode("wh")
            #expect(stored == 4500)
        }
    }
}

extension OCPPTests {
    @Test("when the station stops first, the later StopTransaction's meterStop − meterStart is the bill")
    func billFollowsMeterStop() async throws {
        let start = OfficialCase.stationTime("09:00")
        try await TestServer.run(configure: { $0.clock = .init(mode: .manual, start: start) }) { api in
            let admin = try await api.adminToken()
            let charger = try await OCPPCharger.connect(api, chargePointID: "4")
            _ = try await charger.call("StatusNotification", #"{"connectorId":1,"errorCode":"NoError","status":"Available"}"#)
            let driver = try await api.driverToken("bob", capacity: "60")
            #expect(try await api.call(.post, "/user/charge/request", query: ["token": driver, "mode": "T", "request_quantity": "20"]).code == 200)
            let remoteStart = try await charger.expectCall()
            let idTag = try #require(remoteStart.payload["idTag"] as? String)
            try await charger.reply(remoteStart.id, #"{"status":"Accepted"}"#)
            let started = try await charger.call("StartTransaction", #"{"connectorId":1,"idTag":"\#(idTag)","meterStart":6000,"timestamp":"2024-05-20T01:00:00Z"}"#)
            let transactionID = try #require(started["transactionId"] as? Int)
            // The model says 5 kWh at 09:30; the charger's meter says 4.
            _ = try await api.call(.post, "/admin/clock/advance", query: ["token": admin, "to": ISO8601Format.string(start.addingTimeInterval(30 * 60))])
            let cancel = Task { try await api.call(.post, "/user/charge/request/cancel", query: ["token": driver]) }
            let remoteStop = try await charger.expectCall()
            try await charger.reply(remoteStop.id, #"{"status":"Accepted"}"#)
            #expect(try await cancel.value.code == 200)
            #expect(try await api.call(.get, "/user/charge/bills", query: ["token": driver]).rows.first?["energy_kwh"] as? Double == 5)
            _ = try await charger.call("StopTransaction", #"{"transactionId":\#(transactionID),"meterStop":10000,"timestamp":"2024-05-20T01:30:00Z"}"#)
            let bills = try await api.call(.get, "/user/charge/bills", query: ["token": driver]).rows
            #expect(bills.count == 1)
            #expect(bills.first?["energy_kwh"] as? Double == 4)
            #expect(bills.first?["total_fee"] as? Double == 6)  // 4 kWh × (flat 0.7 + service 0.8)
            let total = try await api.call(.get, "/admin/charge/status/get", query: ["token": admin]).rows.first { $0["charging_station_id"] as? Int == 4 }
            #expect(total?["total_charging_power"] as? Double == 4)
        }
    }

    @Test("a late StopTransaction of a session the station ended and restarted touches neither the new session nor the bills")
    func lateStopTransaction() async throws {
        let start = OfficialCase.stationTime("09:00")
        try await TestServer.run(configure: { $0.clock = .init(mode: .manual, start: start) }) { api in
            _ = try await api.adminToken()
            let charger = try await OCPPCharger.connect(api, chargePointID: "3")
            _ = try await charger.call("StatusNotification", #"{"connectorId":1,"errorCode":"NoError","status":"Available"}"#)
            let driver = try await api.driverToken("frank", capacity: "60")
            #expect(try await api.call(.post, "/user/charge/request", query: ["token": driver, "mode": "T", "request_quantity": "20"]).code == 200)
            let firstStart = try await charger.expectCall()
            let idTag = try #require(firstStart.payload["idTag"] as? String)
            try await charger.reply(firstStart.id, #"{"status":"Accepted"}"#)
            let first = try #require(try await charger.call("StartTransaction", #"{"connectorId":1,"idTag":"\#(idTag)","meterStart":0,"timestamp":"2024-05-20T01:00:00Z"}"#)["transactionId"] as? Int)

            // The charger faults and recovers: the station bills the first session and starts the car again.
            _ = try await charger.call("StatusNotification", #"{"connectorId":1,"errorCode":"GroundFailure","status":"Faulted"}"#)
            let remoteStop = try await charger.expectCall()
            #expect(remoteStop.action == "RemoteStopTransaction")
            try await charger.reply(remoteStop.id, #"{"status":"Accepted"}"#)
            _ = try await charger.call("StatusNotification", #"{"connectorId":1,"errorCode":"NoError","status":"Available"}"#)
            let secondStart = try await charger.expectCall()
            #expect(secondStart.action == "RemoteStartTransaction")
            try await charger.reply(secondStart.id, #"{"status":"Accepted"}"#)
            let second = try #require(try await charger.call("StartTransaction", #"{"connectorId":1,"idTag":"\#(idTag)","meterStart":0,"timestamp":"2024-05-20T01:01:00Z"}"#)["transactionId"] as? Int)
            #expect(second != first)

            _ = try await charger.call("StopTransaction", #"{"transactionId":\#(first),"meterStop":500,"timestamp":"2024-05-20T01:00:30Z","reason":"Remote"}"#)
            let view = try await api.call(.get, "/user/charge/request", query: ["token": driver]).data as? [String: Any]
            #expect(view?["state"] as? String == "charging", "the new session goes on")
            #expect(try await api.call(.get, "/user/charge/bills", query: ["token": driver]).rows.count == 1)
        }
    }

    @Test("a card at an idle charger starts a session the station schedules and bills; at a busy one it is refused")
    func cardSession() async throws {
        let start = OfficialCase.stationTime("09:00")
        try await TestServer.run(configure: { $0.clock = .init(mode: .manual, start: start) }) { api in
            let admin = try await api.adminToken()
            let charger = try await OCPPCharger.connect(api, chargePointID: "5")
            _ = try await charger.call("StatusNotification", #"{"connectorId":1,"errorCode":"NoError","status":"Available"}"#)
            _ = try await api.driverToken("carol", capacity: "40")
            _ = try await api.driverToken("dave", capacity: "40")
            for (tag, driver, expiry, blocked) in [("CARD-CAROL", "carol", "2030-01-01T00:00:00Z", "false"), ("CARD-OLD", "carol", "2020-01-01T00:00:00Z", "false"),
                                                  ("CARD-BLOCKED", "dave", "2030-01-01T00:00:00Z", "true"), ("CARD-DAVE", "dave", "2030-01-01T00:00:00Z", "false")] {
                let provisioned = try await api.call(.post, "/admin/idtags", query: [
                    "token": admin, "id_tag": tag, "username": driver, "expires_at": expiry, "blocked": blocked])
                #expect(provisioned.code == 200, "\(provisioned.object)")
            }
            for (tag, status) in [("CARD-CAROL", "Accepted"), ("CARD-OLD", "Expired"), ("CARD-BLOCKED", "Blocked"), ("NO-SUCH-CARD", "Invalid")] {
                let answer = try await charger.call("Authorize", #"{"idTag":"\#(tag)"}"#)
                #expect((answer["idTagInfo"] as? [String: Any])?["status"] as? String == status, "\(tag)")
            }
            let started = try await charger.call("StartTransaction", #"{"connectorId":1,"idTag":"CARD-CAROL","meterStart":0,"timestamp":"2024-05-20T01:00:00Z"}"#)
            #expect((started["idTagInfo"] as? [String: Any])?["status"] as? String == "Accepted")
            let transactionID = try #require(started["transactionId"] as? Int)
            let queue = try await api.call(.get, "/admin/charge/queue", query: ["token": admin, "id": "5"]).rows
            #expect(queue.map { $0["user_id"] as? String } == ["carol"])
            #expect(queue.first?["state"] as? String == "charging")
            // Somebody else's card while carol charges here is refused.
            let busy = try await charger.call("StartTransaction", #"{"connectorId":1,"idTag":"CARD-DAVE","meterStart":0,"timestamp":"2024-05-20T01:01:00Z"}"#)
            #expect((busy["idTagInfo"] as? [String: Any])?["status"] as? String == "Invalid")

            _ = try await api.call(.post, "/admin/clock/advance", query: ["token": admin, "to": ISO8601Format.string(start.addingTimeInterval(30 * 60))])
            _ = try await charger.call("StopTransaction", #"{"transactionId":\#(transactionID),"meterStop":3000,"timestamp":"2024-05-20T01:30:00Z","reason":"EVDisconnected"}"#)
            #expect(try await api.call(.get, "/admin/charge/queue", query: ["token": admin, "id": "5"]).rows.isEmpty)
            let energy: Double = try await api.pool.query("SELECT energy_kwh::float8 AS e FROM bills b JOIN drivers d ON d.id = b.driver_id WHERE d.username = 'carol'")
                .first!.decode("e")
            #expect(energy == 3)
        }
    }
    @Test("a driver starts again right after a session at the same charger; Authorize and StartTransaction agree; every bill is meterStop − meterStart to the Wh")
    func sessionsBackToBack() async throws {
        try await TestServer.run { api in
            let admin = try await api.adminToken()
            let charger = try await OCPPCharger.connect(api, chargePointID: "5")
            let other = try await OCPPCharger.connect(api, chargePointID: "4")
            for station in [charger, other] {
                _ = try await station.call("StatusNotification", #"{"connectorId":1,"errorCode":"NoError","status":"Available"}"#)
            }
            _ = try await api.driverToken("erin", capacity: "40")
            #expect(try await api.call(.post, "/admin/idtags", query: ["token": admin, "id_tag": "CARD-ERIN", "username": "erin"]).code == 200)
            func status(_ answer: [String: Any]) -> String? { (answer["idTagInfo"] as? [String: Any])?["status"] as? String }

            var register = 1_000
            var transactions: [Int] = []
            for session in 1...2 {
                #expect(status(try await charger.call("Authorize", #"{"idTag":"CARD-ERIN"}"#)) == "Accepted", "session \(session)")
                let started = try await charger.call("StartTransaction", #"{"connectorId":1,"idTag":"CARD-ERIN","meterStart":\#(register),"timestamp":"\#(ISO8601Format.string(Date()))"}"#)
                #expect(status(started) == "Accepted", "session \(session)")
                let transactionID = try #require(started["transactionId"] as? Int)
                transactions.append(transactionID)
                // The card at another charger meanwhile: both answers say the same.
                #expect(status(try await other.call("Authorize", #"{"idTag":"CARD-ERIN"}"#)) == "ConcurrentTx")
                let elsewhere = try await other.call("StartTransaction", #"{"connectorId":1,"idTag":"CARD-ERIN","meterStart":\#(session),"timestamp":"\#(ISO8601Format.string(Date()))"}"#)
                #expect(status(elsewhere) == "ConcurrentTx")
                for _ in 1...3 {
                    register += 1
                    _ = try await charger.call("MeterValues", #"{"connectorId":1,"transactionId":\#(transactionID),"meterValue":[{"timestamp":"\#(ISO8601Format.string(Date()))","sampledValue":[{"value":"\#(register)","measurand":"Energy.Active.Import.Register","unit":"Wh"}]}]}"#)
                }
                register += session  // the last Wh of the session comes with the stop
                _ = try await charger.call("StopTransaction", #"{"transactionId":\#(transactionID),"meterStop":\#(register),"timestamp":"\#(ISO8601Format.string(Date()))","reason":"Local"}"#)
                #expect(try await api.call(.get, "/admin/charge/queue", query: ["token": admin, "id": "5"]).rows.isEmpty)
            }
            #expect(transactions[0] != transactions[1])
            let rows = try await api.pool.query("""
                SELECT (b.energy_kwh * 1000)::int AS billed, t.meter_stop_wh - t.meter_start_wh AS metered
                FROM bills b JOIN ocpp_transactions t ON t.request_id = b.request_id AND t.station_id = b.station_id
                ORDER BY b.id
                """)
            let billed = try rows.map { (try $0.decode("billed", as: Int.self), try $0.decode("metered", as: Int64.self)) }
            #expect(billed.map(\.0) == [4, 5])
            #expect(billed.map { Int64($0.0) } == billed.map(\.1))
            let open: Int = try await api.pool.query("SELECT count(*)::int AS n FROM ocpp_transactions WHERE stopped_at IS NULL").first!.decode("n")
            #expect(open == 0)
        }
    }
    @Test("with every database connection busy, chargers' StartTransactions wait for capacity and are answered once committed, never with a CALLERROR")
    func busyPoolBackPressure() async throws {
        try await TestServer.run(configure: {
            $0.databaseConnections = 3
            $0.databaseAcquireTimeout = .milliseconds(100)
        }) { api in
            // Setup retries: with a 100 ms acquire deadline, a busy machine can refuse any of these steps.
            let admin = try await retrying { try await api.adminToken() }
            // Five chargers at five stations: steps of one station wait in line in the instance without a connection
            // (StationSteps), steps of different stations each take one.
            let hash: String = try await api.pool.query("SELECT password_hash FROM piles WHERE id = 1").first!.decode("password_hash")
            for station in 2...5 {
                try await StationDirectory(pool: api.pool).add(id: station, name: "站\(station)", settings: .standard)
                try await StationStore(pool: api.pool).addPiles([PileSpec(id: station * 10, mode: .slow, powerWatts: 7_000)],
                                                                stationID: station, passwordHash: hash)
            }
            var chargers: [OCPPCharger] = []
            for (index, id) in [1, 20, 30, 40, 50].enumerated() {
                let charger = try await retrying { try await OCPPCharger.connect(api, chargePointID: "\(id)") }
                _ = try await charger.call("StatusNotification", #"{"connectorId":1,"errorCode":"NoError","status":"Available"}"#)
                _ = try await retrying { try await api.driverToken("busy\(index + 1)", capacity: "40") }
                try await retrying {
                    let reply = try await api.call(.post, "/admin/idtags", query: ["token": admin, "id_tag": "BUSY-\(index + 1)",
                                                                                   "username": "busy\(index + 1)"])
                    if reply.code != 200 { throw TestFailure("id tag not added: \(reply.object)") }
                }
                chargers.append(charger)
            }
            let timeouts = { () async throws -> Int in
                let response = try await api.client.execute(uri: "/metrics", method: .get, headers: [:], body: nil)
                let text = String(decoding: response.body.readableBytesView, as: UTF8.self)
                let line = text.split(separator: "\n").first { $0.hasPrefix("chargepile_pool_acquire_timeouts_total") }
                return Int(Double(line?.split(separator: " ").last ?? "0") ?? 0)
            }
            let timeoutsBefore = try await timeouts()
            // The test holds the stations' locks: every StartTransaction holds a connection while it waits for
            // its station's lock, and the ones that find the pool exhausted meet its acquire timeout, again and again.
            let chargersNow = chargers
            let answers = try await api.pool.withTransaction { connection in
                for station in 1...5 {
                    _ = try await connection.query("SELECT pg_advisory_xact_lock(\(Int32(0x43_50)), \(Int32(station)))")
                }
                let calls = Task { [chargersNow] in
                    try await withThrowingTaskGroup(of: (type: Int?, status: String?).self) { group in
                        for (index, charger) in chargersNow.enumerated() {
                            group.addTask {
                                try await charger.send(#"[2,"busy-\#(index)","StartTransaction",{"connectorId":1,"idTag":"BUSY-\#(index + 1)","meterStart":0,"timestamp":"\#(ISO8601Format.string(Date()))"}]"#)
                                let answer = try await charger.nextMessage()
                                return (answer.first as? Int, ((answer.last as? [String: Any])?["idTagInfo"] as? [String: Any])?["status"] as? String)
                            }
                        }
                        return try await group.reduce(into: []) { $0.append($1) }
                    }
                }
                try await eventually(timeout: .seconds(20)) { try await timeouts() >= timeoutsBefore + 3 }
                return calls
            }.value
            #expect(answers.count == 5)
            for answer in answers {
                #expect(answer.type == 3 && answer.status == "Accepted", "\(answer)")
            }
            let open: Int = try await api.pool.query("SELECT count(*)::int AS n FROM ocpp_transactions WHERE request_id IS NOT NULL AND stopped_at IS NULL")
                .first!.decode("n")
            #expect(open == 5)
        }
    }
    @Test("an admin's command and its OCPP call share the row's deadline; a charger's answer after it is recorded on the row, not dropped")
    func lateAnswerRecorded() async throws {
        try await TestServer.run(configure: { $0.commandTimeout = .seconds(2) }) { api in
            let admin = try await api.adminToken()
            let charger = try await OCPPCharger.connect(api, chargePointID: "2")
            _ = try await charger.call("StatusNotification", #"{"connectorId":1,"errorCode":"NoError","status":"Available"}"#)
            let command = Task {
                try await api.call(.post, "/admin/charge/status/set", query: ["token": admin, "id": "2", "status": "off"]).code
            }
            let change = try await charger.expectCall()
            #expect(change.action == "ChangeAvailability")
            // The admin's wait ends at the command's deadline (2 s here) with no answer; only then does the charger answer.
            #expect(try await command.value == -1)
            let state: String = try await api.pool.query("SELECT state FROM pile_commands WHERE pile_id = 2 ORDER BY id DESC LIMIT 1").first!.decode("state")
            #expect(state == "expired" || state == "failed", "\(state)")
            try await charger.reply(change.id, #"{"status":"Accepted"}"#)
            try await eventually {
                try await api.pool.query("""
                    SELECT late_answer->>'status' AS status FROM pile_commands WHERE pile_id = 2 AND late_answer IS NOT NULL
                    """).first?.decode("status", as: String.self) == "Accepted"
            }
        }
    }



}

/// A charger for the tests: OCPP-J frames over `RawWebSocket`, checked by hand. The central system may
/// send its own CALL while one of ours waits for its answer (one CALL in flight per direction), so CALLs
/// read while waiting are kept for `expectCall`.
struct OCPPCharger: Sendable {
    let socket: RawWebSocket
    private let pendingCalls = PendingCalls()

    init(socket: RawWebSocket) { self.socket = socket }

    private final class PendingCalls: @unchecked Sendable {
        private let lock = NSLock()
        private var calls: [[Any]] = []
        func append(_ call: [Any]) { lock.withLock { calls.append(call) } }
        func next() -> [Any]? { lock.withLock { calls.isEmpty ? nil : calls.removeFirst() } }
    }

    static func basic(_ user: String, _ password: String) -> String {
        "Authorization: Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    static func connect(_ api: TestAPI, chargePointID: String) async throws -> OCPPCharger {
        let socket = try await RawWebSocket.open(port: api.client.port!, path: "/ocpp/\(chargePointID)",
                                                 headers: ["Sec-WebSocket-Protocol: ocpp1.6", basic(chargePointID, TestServer.pilePassword)])
        return OCPPCharger(socket: socket)
    }

    func send(_ text: String) async throws { try await socket.send(text: text) }

    /// The next OCPP message (a JSON array), skipping pings.
    func nextMessage() async throws -> [Any] {
        while true {
            // Pings are answered as a charger's WebSocket stack would: a test that runs long on a busy machine
            // must not be closed for a missed pong.
            guard let frame = try await socket.receiveAnsweringPings() else { throw TestFailure("the server closed the socket") }
            guard frame.opcode == RawWebSocket.text, let message = try JSONSerialization.jsonObject(with: Data(frame.payload)) as? [Any] else {
                throw TestFailure("not an OCPP message: \(frame)")
            }
            return message
        }
    }

    /// Sends a CALL and returns its CALLRESULT payload; a CALLERROR fails the test.
    func call(_ action: String, _ payload: String) async throws -> [String: Any] {
        let id = UUID().uuidString
        try await send(#"[2,"\#(id)","\#(action)",\#(payload)]"#)
        var answer = try await nextMessage()
        while answer.first as? Int == 2 {
            pendingCalls.append(answer)
            answer = try await nextMessage()
        }
        guard answer.first as? Int == 3, answer[1] as? String == id, let result = answer[2] as? [String: Any] else {
            throw TestFailure("\(action) answered \(answer)")
        }
        return result
    }

    /// The next CALL the central system sends.
    func expectCall() async throws -> (id: String, action: String, payload: [String: Any]) {
        let message = if let pending = pendingCalls.next() { pending } else { try await nextMessage() }
        guard message.count == 4, message[0] as? Int == 2, let id = message[1] as? String, let action = message[2] as? String,
              let payload = message[3] as? [String: Any]
        else { throw TestFailure("expected a CALL, got \(message)") }
        return (id, action, payload)
    }

    func reply(_ id: String, _ payload: String) async throws { try await send(#"[3,"\#(id)",\#(payload)]"#) }
}

extension ISO8601DateFormatter {
    static var withFractions: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
