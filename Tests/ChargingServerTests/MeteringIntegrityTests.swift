import ChargingDomain
import ChargingStore
import Foundation
import PileSimulator
import Testing
import TestSupport

/// Issue 10, items 7 and 11, as an attacker would try them against a live instance: impossible meter
/// readings, a flapping pile, a battery bigger than the registered one, a pile that disconnects mid-session,
/// and a station row in the format written before versions.
@Suite("Metering and billing integrity (live)", .serialized)  // one live instance at a time: PostgreSQL connections are shared with every other suite
struct MeteringIntegrityLiveTests {
    /// Pile `pileID` connected and switched on, driver `driver` charging `amount` kWh there at 09:00.
    static func charging(
        _ api: TestAPI, admin: String, pileID: Int, driver: String, mode: String, amount: String
    ) async throws -> (pile: ConnectedPile, token: String, requestID: Int64) {
        let pile = try await ConnectedPile.open(api, pileID: pileID)
        #expect(try await pile.next() == .welcome(status: "off"))
        let on = try await api.call(.post, "/admin/charge/status/set", query: ["token": admin, "id": "\(pileID)", "status": "on"])
        #expect(on.code == 200, "\(on.object)")
        _ = try await pile.next()
        let token = try await api.driverToken(driver, capacity: "60")
        let submitted = try await api.call(.post, "/user/charge/request", query: ["token": token, "mode": mode, "request_quantity": amount])
        #expect(submitted.code == 200, "\(submitted.object)")
        let started = try await pile.next()
        guard case .startCharging(let requestID, _, _, _) = started else { throw TestFailure("no start_charging: \(started)") }
        return (pile, token, requestID)
    }

    static func advance(_ api: TestAPI, admin: String, to date: Date) async throws {
        let reply = try await api.call(.post, "/admin/clock/advance", query: ["token": admin, "to": ISO8601Format.string(date)])
        #expect(reply.code == 200, "\(reply.object)")
    }

    @Test("9.9 kWh one second after the start is refused with an error frame, recorded, and nothing is billed; so is a backwards reading")
    func impossibleReadings() async throws {
        let start = OfficialCase.stationTime("09:00")
        try await TestServer.run(configure: { $0.clock = .init(mode: .manual, start: start) }) { api in
            let admin = try await api.adminToken()
            let (pile, driver, requestID) = try await Self.charging(api, admin: admin, pileID: 1, driver: "mallory", mode: "F", amount: "30")
            try await Self.advance(api, admin: admin, to: start.addingTimeInterval(1))

            try await pile.simulated.sendMeter(requestID: requestID, energyKWh: 9.9)
            guard case .error(let message) = try await pile.next() else { throw TestFailure("9.9 kWh after 1 s accepted") }
            #expect(message == StationError.implausibleMeterReading.message)
            let view = try await api.call(.get, "/user/charge/request", query: ["token": driver]).data as? [String: Any]
            #expect(view?["state"] as? String == "charging")
            #expect((view?["charged_kwh"] as? Double ?? 99) <= 0.01)  // 1 s at 30 kW: 8.3 Wh
            #expect(try await api.call(.get, "/user/charge/bills", query: ["token": driver]).rows.isEmpty)

            // A plausible reading is taken; one below it afterwards is refused.
            try await Self.advance(api, admin: admin, to: start.addingTimeInterval(600))  // 10 min at 30 kW: 5 kWh possible
            try await pile.simulated.sendMeter(requestID: requestID, energyKWh: 4)
            try await eventually {
                (try await api.call(.get, "/user/charge/request", query: ["token": driver]).data as? [String: Any])?["charged_kwh"] as? Double == 4
            }
            try await pile.simulated.sendMeter(requestID: requestID, energyKWh: 3.5)
            guard case .error(let backwards) = try await pile.next() else { throw TestFailure("a backwards reading accepted") }
            #expect(backwards == StationError.invalidMeterReading.message)
            #expect(try await api.call(.get, "/user/charge/bills", query: ["token": driver]).rows.isEmpty)

            let refusals = try await api.pool.query("""
                SELECT pile_id, request_id, energy_kwh::text AS energy, reason, source, driver FROM meter_refusals_recent ORDER BY id
                """)
            let summary = try refusals.map {
                "\(try $0.decode("pile_id", as: Int.self)) \(try $0.decode("request_id", as: Int64.self) == requestID) "
                    + "\(try $0.decode("energy", as: String.self)) \(try $0.decode("reason", as: String.self)) "
                    + "\(try $0.decode("source", as: String.self)) \(try $0.decode("driver", as: String?.self) ?? "-")"
            }
            #expect(summary == ["1 true 9.9 implausible chargepile mallory", "1 true 3.5 backwards chargepile mallory"])
            await pile.stop()
        }
    }

    @Test("an OCPP charger's impossible MeterValues is acknowledged, ignored and recorded; an impossible meterStop does not rewrite the bill")
    func impossibleOCPPReadings() async throws {
        let start = OfficialCase.stationTime("09:00")
        try await TestServer.run(configure: { $0.clock = .init(mode: .manual, start: start) }) { api in
            let admin = try await api.adminToken()
            let charger = try await OCPPCharger.connect(api, chargePointID: "4")
            _ = try await charger.call("StatusNotification", #"{"connectorId":1,"errorCode":"NoError","status":"Available"}"#)
            let driver = try await api.driverToken("trudy", capacity: "60")
            #expect(try await api.call(.post, "/user/charge/request", query: ["token": driver, "mode": "T", "request_quantity": "20"]).code == 200)
            let remoteStart = try await charger.expectCall()
            let idTag = try #require(remoteStart.payload["idTag"] as? String)
            try await charger.reply(remoteStart.id, #"{"status":"Accepted"}"#)
            let started = try await charger.call("StartTransaction", #"{"connectorId":1,"idTag":"\#(idTag)","meterStart":0,"timestamp":"2024-05-20T01:00:00Z"}"#)
            let transactionID = try #require(started["transactionId"] as? Int)
            try await Self.advance(api, admin: admin, to: start.addingTimeInterval(1))
            // 9.9 kWh one second in: answered (an empty CALLRESULT), not applied.
            let answer = try await charger.call("MeterValues", """
                {"connectorId":1,"transactionId":\(transactionID),"meterValue":[{"timestamp":"2024-05-20T01:00:01Z",\
                "sampledValue":[{"value":"9900","measurand":"Energy.Active.Import.Register","unit":"Wh"}]}]}
                """)
            #expect(answer.isEmpty)
            let view = try await api.call(.get, "/user/charge/request", query: ["token": driver]).data as? [String: Any]
            #expect(view?["state"] as? String == "charging")
            #expect((view?["charged_kwh"] as? Double ?? 99) <= 0.01)

            // Cancelled at 09:30 (5 kWh modelled); the charger then claims 19 kWh in that half hour.
            try await Self.advance(api, admin: admin, to: start.addingTimeInterval(1800))
            let cancel = Task { try await api.call(.post, "/user/charge/request/cancel", query: ["token": driver]) }
            let remoteStop = try await charger.expectCall()
            try await charger.reply(remoteStop.id, #"{"status":"Accepted"}"#)
            #expect(try await cancel.value.code == 200)
            _ = try await charger.call("StopTransaction", #"{"transactionId":\#(transactionID),"meterStop":19000,"timestamp":"2024-05-20T01:30:00Z"}"#)
            let bills = try await api.call(.get, "/user/charge/bills", query: ["token": driver]).rows
            #expect(bills.count == 1)
            #expect(bills.first?["energy_kwh"] as? Double == 5)
            let reasons: [String] = try await api.pool.query("SELECT source || ':' || reason AS r FROM meter_refusals ORDER BY id")
                .map { try $0.decode("r") }
            #expect(reasons == ["ocpp:implausible", "ocpp_stop:implausible"])
        }
    }

    @Test("a status flood is rate-limited: error frames, and at most a few bills for the driver")
    func statusFlood() async throws {
        let start = OfficialCase.stationTime("09:00")
        try await TestServer.run(configure: { $0.clock = .init(mode: .manual, start: start) }) { api in
            let admin = try await api.adminToken()
            let (pile, driver, _) = try await Self.charging(api, admin: admin, pileID: 3, driver: "flapper", mode: "T", amount: "20")
            // 60 frames at once (below the 64 the socket queues): off, on, off, on, …
            for index in 0..<60 {
                try await pile.simulated.send(status: index.isMultiple(of: 2) ? "off" : "on")
            }
            // A marker after the flood: its error frame says every frame before it was handled.
            try await pile.simulated.sendRaw(#"{"type":"ack","command_id":987654321}"#)
            var limited = 0
            while true {
                let event = try await pile.next()
                if case .error(let message) = event {
                    if message.contains("987654321") { break }
                    if message.contains("过于频繁") { limited += 1 }
                }
            }
            // 5 changes are applied (off, on, off, on, off); after that every "on" is refused and every "off"
            // repeats the current status (no change, nothing happens).
            #expect(limited >= 25, "only 5 changes per 10 s are applied")
            let bills = try await api.call(.get, "/user/charge/bills", query: ["token": driver]).rows
            #expect(bills.count <= 3, "\(bills.count) bills")
            #expect(try await api.pileStatus(3, token: admin) == "off")
            await pile.stop()
        }
    }

    @Test("an OCPP charger's flapping StatusNotifications are acknowledged but not applied beyond the limit")
    func ocppStatusFlood() async throws {
        try await TestServer.run(configure: { $0.statusChangeLimit = 3 }) { api in
            let admin = try await api.adminToken()
            let charger = try await OCPPCharger.connect(api, chargePointID: "5")
            for status in ["Available", "Faulted", "Available", "Faulted", "Available", "Unavailable"] {
                let answer = try await charger.call("StatusNotification", #"{"connectorId":1,"errorCode":"NoError","status":"\#(status)"}"#)
                #expect(answer.isEmpty)
            }
            // Three changes applied (on, repair, on); the rest ignored.
            #expect(try await api.pileStatus(5, token: admin) == "on")
            // Repeating the current status is not a change and still passes.
            _ = try await charger.call("StatusNotification", #"{"connectorId":1,"errorCode":"NoError","status":"Charging"}"#)
            #expect(try await api.pileStatus(5, token: admin) == "on")
        }
    }

    @Test("a request's battery cannot exceed the driver's registered one; modify keeps the limits")
    func capacityLimits() async throws {
        try await TestServer.run { api in
            let driver = try await api.driverToken("bigcar", capacity: "60")
            let before = try await api.databaseFingerprint()
            let huge = try await api.call(.post, "/user/charge/request",
                                          query: ["token": driver, "mode": "T", "request_quantity": "900", "battery_capacity": "1000"])
            #expect(huge.code == -1)
            #expect(huge.msg == "电池容量不能超过注册的电池容量")
            let above = try await api.call(.post, "/user/charge/request", query: ["token": driver, "mode": "T", "request_quantity": "61"])
            #expect(above.code == -1)
            #expect(try await api.databaseFingerprint() == before)

            // A smaller battery than registered is fine, and bounds the amount, in modify too.
            let small = try await api.call(.post, "/user/charge/request",
                                           query: ["token": driver, "mode": "T", "request_quantity": "40", "battery_capacity": "50"])
            #expect(small.code == 200, "\(small.object)")
            let tooMuch = try await api.call(.post, "/user/charge/request/modify", query: ["token": driver, "request_quantity": "55"])
            #expect(tooMuch.code == -1)
            #expect(tooMuch.msg == StationError.invalidAmount.message)
            let farTooMuch = try await api.call(.post, "/user/charge/request/modify", query: ["token": driver, "request_quantity": "1000"])
            #expect(farTooMuch.code == -1)
            let fine = try await api.call(.post, "/user/charge/request/modify", query: ["token": driver, "request_quantity": "45"])
            #expect(fine.code == 200, "\(fine.object)")
            #expect((fine.data as? [String: Any])?["request_quantity"] as? Double == 45)
        }
    }

    @Test("a pile that disconnects mid-session and stays away is billed up to the disconnect, not through the grace period")
    func offlineBilledToDisconnect() async throws {
        let start = OfficialCase.stationTime("09:00")
        try await TestServer.run(configure: {
            $0.clock = .init(mode: .manual, start: start)
            $0.offlineGrace = .seconds(1)
        }) { api in
            let admin = try await api.adminToken()
            // A raw pile socket, so that the test decides the moment it goes away (a close frame).
            let socket = try await api.rawPileSocket(2)
            #expect(try await socket.receiveAnsweringPings()?.text.contains("welcome") == true)
            #expect(try await api.call(.post, "/admin/charge/status/set", query: ["token": admin, "id": "2", "status": "on"]).code == 200)
            let driver = try await api.driverToken("dora", capacity: "60")
            let submitted = try await api.call(.post, "/user/charge/request", query: ["token": driver, "mode": "F", "request_quantity": "30"])
            #expect((submitted.data as? [String: Any])?["state"] as? String == "charging", "\(submitted.object)")
            try await Self.advance(api, admin: admin, to: start.addingTimeInterval(600))  // 09:10: 5 kWh so far
            try await socket.send(RawWebSocket.close, [0x03, 0xE8])
            try await eventually { try await api.pileStatus(2, token: admin) == "offline" }
            // Station time runs on while the pile is away; whenever the grace ends, the bill ends at 09:10.
            try await Self.advance(api, admin: admin, to: start.addingTimeInterval(1200))
            try await eventually(timeout: .seconds(20)) {
                !(try await api.call(.get, "/user/charge/bills", query: ["token": driver]).rows.isEmpty)
            }
            let bills = try await api.call(.get, "/user/charge/bills", query: ["token": driver]).rows
            #expect(bills.count == 1)
            #expect(bills.first?["energy_kwh"] as? Double == 5)
            #expect(bills.first?["duration"] as? Double == 600)
            #expect(bills.first?["total_fee"] as? Double == 7.5)
            let ended: String = try await api.pool.query("SELECT ended_by FROM bills").first!.decode("ended_by")
            #expect(ended == "fault")
            let view = try await api.call(.get, "/user/charge/request", query: ["token": driver]).data as? [String: Any]
            #expect(view?["state"] as? String == "displaced" || view?["state"] as? String == "waiting", "\(String(describing: view))")
        }
    }

    @Test("a station row in the pre-version format (version 0) loads, keeps working, and is written back as rows (version 2)")
    func versionZeroRowLoads() async throws {
        let start = OfficialCase.stationTime("09:00")
        try await TestServer.run(configure: { $0.clock = .init(mode: .manual, start: start) }) { api in
            let admin = try await api.adminToken()
            let (pile, driver, _) = try await Self.charging(api, admin: admin, pileID: 3, driver: "olga", mode: "T", amount: "20")
            let stored: String = try await api.pool.query("SELECT state::text AS s FROM stations WHERE id = 1").first!.decode("s")
            #expect(try StationSnapshot.storedVersion(of: Data(stored.utf8)) == StationSnapshot.rowsVersion)
            let station = try #require(try await StationStore(pool: api.pool).snapshot(stationID: 1, advance: false)).station
            let legacy = String(decoding: try JSONEncoder().encode(station), as: UTF8.self)  // the synthesized format of before
            try await api.pool.execute("UPDATE stations SET state = \(legacy)::jsonb WHERE id = 1")
            #expect(try await api.pool.query("SELECT state ? 'version' AS v FROM stations WHERE id = 1").first!.decode("v", as: Bool.self) == false)

            try await Self.advance(api, admin: admin, to: start.addingTimeInterval(1800))
            let view = try await api.call(.get, "/user/charge/request", query: ["token": driver]).data as? [String: Any]
            #expect(view?["state"] as? String == "charging")
            #expect(view?["charged_kwh"] as? Double == 5)
            #expect(try await api.call(.post, "/user/charge/request/cancel", query: ["token": driver]).code == 200)
            #expect(try await api.call(.get, "/user/charge/bills", query: ["token": driver]).rows.first?["energy_kwh"] as? Double == 5)
            let version: Int = try await api.pool.query("SELECT (state->>'version')::int AS v FROM stations WHERE id = 1").first!.decode("v")
            #expect(version == StationSnapshot.rowsVersion)
            #expect(try await StationStore(pool: api.pool).snapshot(stationID: 1, advance: false)?.station.pileStatus(3) == .on)
            await pile.stop()
        }
    }
}
