import Foundation
import Logging
import PileSimulator
import Testing
import TestSupport

/// Site load management through the API and the piles: the station's power limit, `set_power` and its `ack`.
@Suite("Load management: the station's power limit")
struct LoadManagementTests {
    @Test("station/get and station/set: the limit, `none`, and clear -1 answers for bad input")
    func adminEndpoints() async throws {
        try await TestServer.run { api in
            let token = try await api.adminToken()
            let initial = try await api.call(.get, "/admin/station/get", query: ["token": token, "id": "1"])
            #expect(initial.code == 200)
            let data = try #require(initial.data as? [String: Any])
            #expect(data["power_limit_kw"] is NSNull && data["allocated_kw"] as? Double == 0)
            let piles = try #require(data["piles"] as? [[String: Any]])
            #expect(piles.map { $0["pile_id"] as? Int } == [1, 2, 3, 4, 5])
            #expect(piles.map { $0["power_kw"] as? Double } == [30, 30, 10, 10, 10])
            #expect(piles.allSatisfy { $0["minimum_power_kw"] as? Double == 4.14 && $0["allocated_kw"] is NSNull })

            let set = try await api.call(.post, "/admin/station/set", body: .form(["token": token, "id": "1", "power_limit_kw": "60.5"]))
            #expect(set.code == 200 && set.msg == "设置成功")
            #expect((set.data as? [String: Any])?["power_limit_kw"] as? Double == 60.5)
            let read = try await api.call(.get, "/admin/station/get", query: ["token": token, "id": "1"])
            #expect((read.data as? [String: Any])?["power_limit_kw"] as? Double == 60.5)
            let lifted = try await api.call(.post, "/admin/station/set", body: .form(["token": token, "id": "1", "power_limit_kw": "none"]))
            #expect((lifted.data as? [String: Any])?["power_limit_kw"] is NSNull)

            for bad in ["0", "-3", "abc", "1e-9", "nan", "inf", "1e30", ""] {
                let reply = try await api.call(.post, "/admin/station/set", body: .form(["token": token, "id": "1", "power_limit_kw": bad]))
                #expect(reply.code == -1, "\(bad)")
                #expect(reply.msg == (bad.isEmpty ? "参数格式错误: power_limit_kw" : "参数格式错误: power_limit_kw"), "\(bad)")
            }
            for station in ["2", "0", "-1", "99999999999"] {
                let reply = try await api.call(.get, "/admin/station/get", query: ["token": token, "id": station])
                #expect(reply.code == -1 && reply.msg == "充电站不存在", "\(station)")
                let setting = try await api.call(.post, "/admin/station/set", body: .form(["token": token, "id": station, "power_limit_kw": "10"]))
                #expect(setting.code == -1 && setting.msg == "充电站不存在", "\(station)")
            }
            let missing = try await api.call(.post, "/admin/station/set", body: .form(["token": token, "id": "1"]))
            #expect(missing.code == -1 && missing.msg == "缺少参数: power_limit_kw")
            let anonymous = try await api.call(.get, "/admin/station/get", query: ["id": "1"])
            #expect(anonymous.code == -1)
        }
    }

    @Test("station/set: a pile's minimum power, `default`, together with the limit, and -1 answers that change nothing")
    func minimumPowerEndpoint() async throws {
        try await TestServer.run { api in
            let token = try await api.adminToken()
            func minimums(_ reply: TestAPI.Reply) -> [Double?] {
                ((reply.data as? [String: Any])?["piles"] as? [[String: Any]] ?? []).map { $0["minimum_power_kw"] as? Double }
            }
            let set = try await api.call(.post, "/admin/station/set", body: .form(["token": token, "id": "1", "pile_id": "3", "minimum_power_kw": "6"]))
            #expect(set.code == 200 && minimums(set) == [4.14, 4.14, 6, 4.14, 4.14])
            #expect((set.data as? [String: Any])?["power_limit_kw"] is NSNull)
            let both = try await api.call(.post, "/admin/station/set", body: .form([
                "token": token, "id": "1", "power_limit_kw": "40", "pile_id": "1", "minimum_power_kw": "7.5"]))
            #expect(both.code == 200 && minimums(both) == [7.5, 4.14, 6, 4.14, 4.14])
            #expect((both.data as? [String: Any])?["power_limit_kw"] as? Double == 40)
            let reset = try await api.call(.post, "/admin/station/set", body: .form(["token": token, "id": "1", "pile_id": "3", "minimum_power_kw": "default"]))
            #expect(reset.code == 200 && minimums(reset) == [7.5, 4.14, 4.14, 4.14, 4.14])

            let bad: [([String: String], String)] = [
                (["pile_id": "3"], "缺少参数: minimum_power_kw"),
                (["minimum_power_kw": "6"], "缺少参数: pile_id"),
                (["pile_id": "abc", "minimum_power_kw": "6"], "参数格式错误: pile_id"),
                (["pile_id": "9", "minimum_power_kw": "6"], "充电桩不存在"),
                (["pile_id": "99999999999", "minimum_power_kw": "6"], "充电桩不存在"),
                (["pile_id": "3", "minimum_power_kw": "0"], "参数格式错误: minimum_power_kw"),
                (["pile_id": "3", "minimum_power_kw": "none"], "参数格式错误: minimum_power_kw"),
                (["pile_id": "3", "minimum_power_kw": "1e30"], "参数格式错误: minimum_power_kw"),
                (["power_limit_kw": "20", "pile_id": "3", "minimum_power_kw": "-1"], "参数格式错误: minimum_power_kw"),
                (["power_limit_kw": "abc", "pile_id": "3", "minimum_power_kw": "5"], "参数格式错误: power_limit_kw"),
            ]
            for (parameters, message) in bad {
                let reply = try await api.call(.post, "/admin/station/set", body: .form(parameters.merging(["token": token, "id": "1"]) { a, _ in a }))
                #expect(reply.code == -1 && reply.msg == message, "\(parameters): \(reply.msg)")
            }
            let after = try await api.call(.get, "/admin/station/get", query: ["token": token, "id": "1"])
            #expect(minimums(after) == [7.5, 4.14, 4.14, 4.14, 4.14])
            #expect((after.data as? [String: Any])?["power_limit_kw"] as? Double == 40)
        }
    }

    @Test("set_power: a pile is told its share and acknowledges it before its car starts; a newcomer's share comes from the others' reductions")
    func setPowerFrames() async throws {
        try await TestServer.run { api in
            let token = try await api.adminToken()
            #expect(try await api.call(.post, "/admin/station/set", body: .form(["token": token, "id": "1", "power_limit_kw": "12"])).code == 200)
            let three = try await ConnectedPile.open(api, pileID: 3)
            let four = try await ConnectedPile.open(api, pileID: 4)
            for (pile, id) in [(three, 3), (four, 4)] {
                _ = try await pile.next(matching: { if case .welcome = $0 { true } else { false } })
                #expect(try await api.call(.post, "/admin/charge/status/set", body: .form(["token": token, "id": "\(id)", "status": "on"])).code == 200)
            }
            let alice = try await api.driverToken("alice")
            #expect(try await api.call(.post, "/user/charge/request", body: .form(["token": alice, "mode": "T", "request_quantity": "10"])).code == 200)
            #expect(try await three.next(matching: \.isSetPower) == .setPower(powerKW: 10, commandID: try await api.lastCommandID(pile: 3)))
            guard case .startCharging(let requestID, _, _, _) = try await three.next(matching: \.isStartCharging) else { throw TestFailure("alice not started") }
            // The meter's average since the session started; none before a reading.
            let before = try await api.call(.get, "/admin/station/get", query: ["token": token, "id": "1"]).data as? [String: Any]
            #expect(((before?["piles"] as? [[String: Any]])?[2]["measured_kw"]) is NSNull)
            try await three.simulated.sendMeter(requestID: requestID, energyKWh: 0.001)
            try await eventually(timeout: .seconds(20)) {
                let data = try await api.call(.get, "/admin/station/get", query: ["token": token, "id": "1"]).data as? [String: Any]
                return ((data?["piles"] as? [[String: Any]])?[2]["measured_kw"] as? Double ?? 0) > 0
            }

            let bob = try await api.driverToken("bob")
            #expect(try await api.call(.post, "/user/charge/request", body: .form(["token": bob, "mode": "T", "request_quantity": "10"])).code == 200)
            // 12 kW for two cars: pile 3 is reduced to 6 kW, pile 4 set to 6 kW, and only then does bob start.
            guard case .setPower(6, _) = try await three.next(matching: \.isSetPower) else { throw TestFailure("pile 3 not reduced") }
            guard case .setPower(6, _) = try await four.next(matching: \.isSetPower) else { throw TestFailure("pile 4 not limited") }
            guard case .startCharging(_, "bob", _, _) = try await four.next(matching: \.isStartCharging) else { throw TestFailure("bob not started") }
            try await eventually(timeout: .seconds(10)) {
                let data = try await api.call(.get, "/admin/station/get", query: ["token": token, "id": "1"]).data as? [String: Any]
                let allocated = (data?["piles"] as? [[String: Any]])?.compactMap { $0["allocated_kw"] as? Double }
                return data?["allocated_kw"] as? Double == 12 && allocated == [6, 6]
            }
            let rows: [String] = try await api.pool.query("""
                SELECT state FROM pile_commands WHERE instruction ? 'setPower' ORDER BY id
                """).map { try $0.decode("state") }
            #expect(rows == ["written", "written", "written"])

            // alice leaves: her stop is a reduction too, so bob gets 10 kW only once pile 3 has taken it.
            #expect(try await api.call(.post, "/user/charge/request/cancel", body: .form(["token": alice])).code == 200)
            guard case .stopCharging = try await three.next(matching: { if case .stopCharging = $0 { true } else { false } }) else {
                throw TestFailure("alice not stopped")
            }
            guard case .setPower(10, _) = try await four.next(matching: \.isSetPower) else { throw TestFailure("bob not raised") }
            let ordered: Bool = try await api.pool.query("""
                SELECT (SELECT finished_at FROM pile_commands WHERE pile_id = 3 AND instruction ? 'stopCharging')
                    <= (SELECT requested_at FROM pile_commands WHERE pile_id = 4 AND instruction->'setPower'->>'watts' = '10000') AS ordered
                """).first!.decode("ordered")
            #expect(ordered)
            await three.stop()
            await four.stop()
        }
    }

    @Test("OCPP: a charger behind the limit is sent its share as a TxDefaultProfile (W, or A for a charger that takes Current only) and its Accepted counts; a Rejected one counts at full power")
    func ocppChargingProfile() async throws {
        try await TestServer.run { api in
            let token = try await api.adminToken()
            #expect(try await api.call(.post, "/admin/station/set", body: .form(["token": token, "id": "1", "power_limit_kw": "12"])).code == 200)
            let three = try await OCPPCharger.connect(api, chargePointID: "3")
            let four = try await OCPPCharger.connect(api, chargePointID: "4")
            for charger in [three, four] {
                _ = try await charger.call("BootNotification", #"{"chargePointVendor":"ACME","chargePointModel":"X1"}"#)
                _ = try await charger.call("StatusNotification", #"{"connectorId":1,"errorCode":"NoError","status":"Available"}"#)
            }
            let alice = try await api.driverToken("alice")
            #expect(try await api.call(.post, "/user/charge/request", body: .form(["token": alice, "mode": "T", "request_quantity": "10"])).code == 200)

            // alice's share (the pile's 10 kW, under 12) comes before her start, and only its Accepted lets her start.
            // At a station with a limit, each charger's smart charging configuration is read after its boot: a
            // charger that knows none of the keys gets W at stack level 0.
            let configuration = try await three.expectCall()
            #expect(configuration.action == "GetConfiguration")
            #expect(configuration.payload["key"] as? [String] == ["ChargingScheduleAllowedChargingRateUnit", "ChargeProfileMaxStackLevel", "MaxChargingProfilesInstalled"])
            let unknownKeys = #"{"unknownKey":["ChargingScheduleAllowedChargingRateUnit","ChargeProfileMaxStackLevel","MaxChargingProfilesInstalled"]}"#
            try await three.reply(configuration.id, unknownKeys)
            let profile = try await three.expectCall(answeringConfigurationWith: unknownKeys)
            #expect(profile.action == "SetChargingProfile")
            #expect(profile.payload["connectorId"] as? Int == 0)
            let sent = try #require(profile.payload["csChargingProfiles"] as? [String: Any])
            #expect(sent["chargingProfileId"] as? Int == 3 && sent["stackLevel"] as? Int == 0)
            #expect(sent["chargingProfilePurpose"] as? String == "TxDefaultProfile" && sent["chargingProfileKind"] as? String == "Relative")
            #expect(sent["transactionId"] == nil && sent["validFrom"] == nil)
            let schedule = try #require(sent["chargingSchedule"] as? [String: Any])
            #expect(schedule["chargingRateUnit"] as? String == "W" && schedule["startSchedule"] == nil)
            let periods = try #require(schedule["chargingSchedulePeriod"] as? [[String: Any]])
            #expect(periods.count == 1 && periods.first?["startPeriod"] as? Int == 0 && periods.first?["limit"] as? Double == 10000)
            try await three.reply(profile.id, #"{"status":"Accepted"}"#)
            // While she waits for power at the head of the queue, the charger keeps the pile for her; her start uses it up.
            let reserve = try await three.expectCall()
            #expect(reserve.action == "ReserveNow")
            try await three.reply(reserve.id, #"{"status":"Accepted"}"#)
            let remoteStart = try await three.expectCall()
            #expect(remoteStart.action == "RemoteStartTransaction")
            try await three.reply(remoteStart.id, #"{"status":"Accepted"}"#)
            let idTag = try #require(remoteStart.payload["idTag"] as? String)
            #expect(reserve.payload["idTag"] as? String == idTag)
            let started = try await three.call("StartTransaction", #"{"connectorId":1,"idTag":"\#(idTag)","meterStart":0,"timestamp":"2026-12-06T20:00:00Z"}"#)
            #expect((started["idTagInfo"] as? [String: Any])?["status"] as? String == "Accepted")
            let rows: [String] = try await api.pool.query("""
                SELECT state || ' ' || coalesce(answer->>'status', '') AS row FROM pile_commands WHERE pile_id = 3 AND instruction ? 'setPower'
                """).map { try $0.decode("row") }
            #expect(rows == ["written Accepted"])

            // bob's pile 4 needs room: pile 3 is reduced to 6 kW first; pile 4 rejects its 6 kW, so it would draw its full
            // 10 kW, which does not fit beside alice's minimum: bob waits, and pile 4 counts at full power.
            let bob = try await api.driverToken("bob")
            #expect(try await api.call(.post, "/user/charge/request", body: .form(["token": bob, "mode": "T", "request_quantity": "10"])).code == 200)
            let reduction = try await three.expectCall()
            #expect(reduction.action == "SetChargingProfile")
            let reduced = (reduction.payload["csChargingProfiles"] as? [String: Any])?["chargingSchedule"] as? [String: Any]
            #expect((reduced?["chargingSchedulePeriod"] as? [[String: Any]])?.first?["limit"] as? Double == 6000)
            try await three.reply(reduction.id, #"{"status":"Accepted"}"#)
            // Pile 4 takes amperes only: 6000 W on 230 V × 3 phases is 8.69… A, rounded down to 8.6; at its highest stack level.
            let units = try await four.expectCall()
            #expect(units.action == "GetConfiguration")
            let currentOnly = #"""
                {"configurationKey":[{"key":"ChargingScheduleAllowedChargingRateUnit","readonly":true,"value":"Current"},
                {"key":"ChargeProfileMaxStackLevel","readonly":true,"value":"3"},{"key":"MaxChargingProfilesInstalled","readonly":true,"value":"2"}]}
                """#
            try await four.reply(units.id, currentOnly)
            let refused = try await four.expectCall(answeringConfigurationWith: currentOnly)
            #expect(refused.action == "SetChargingProfile")
            #expect((refused.payload["csChargingProfiles"] as? [String: Any])?["stackLevel"] as? Int == 3)
            let amperes = (refused.payload["csChargingProfiles"] as? [String: Any])?["chargingSchedule"] as? [String: Any]
            #expect(amperes?["chargingRateUnit"] as? String == "A")
            let period = (amperes?["chargingSchedulePeriod"] as? [[String: Any]])?.first
            #expect(period?["limit"] as? Double == 8.6 && period?["numberPhases"] as? Int == 3)
            try await four.reply(refused.id, #"{"status":"Rejected"}"#)
            try await eventually(timeout: .seconds(10)) {
                let states: [String] = try await api.pool.query("""
                    SELECT state FROM pile_commands WHERE pile_id = 4 AND instruction ? 'setPower' ORDER BY id
                    """).map { try $0.decode("state") }
                return states == ["rejected"]
            }
            try await eventually(timeout: .seconds(10)) {
                let view = try await api.call(.get, "/user/charge/request", query: ["token": bob]).data as? [String: Any]
                return view?["state"] as? String == "queued"
            }
        }
    }

    @Test("OCPP: a charger that boots again is sent its share anew; one with no room for a profile counts at full power without being sent one")
    func ocppRebootAndNoRoom() async throws {
        try await TestServer.run { api in
            let token = try await api.adminToken()
            #expect(try await api.call(.post, "/admin/station/set", body: .form(["token": token, "id": "1", "power_limit_kw": "15"])).code == 200)
            let three = try await OCPPCharger.connect(api, chargePointID: "3")
            _ = try await three.call("BootNotification", #"{"chargePointVendor":"ACME","chargePointModel":"X1"}"#)
            _ = try await three.call("StatusNotification", #"{"connectorId":1,"errorCode":"NoError","status":"Available"}"#)
            let configuration = try await three.expectCall()
            #expect(configuration.action == "GetConfiguration")
            let stackOfFive = #"""
                {"configurationKey":[{"key":"ChargeProfileMaxStackLevel","readonly":true,"value":"5"},{"key":"MaxChargingProfilesInstalled","readonly":true,"value":"4"}]}
                """#
            try await three.reply(configuration.id, stackOfFive)
            let alice = try await api.driverToken("alice")
            #expect(try await api.call(.post, "/user/charge/request", body: .form(["token": alice, "mode": "T", "request_quantity": "10"])).code == 200)
            let profile = try await three.expectCall(answeringConfigurationWith: stackOfFive)
            #expect(profile.action == "SetChargingProfile")
            #expect((profile.payload["csChargingProfiles"] as? [String: Any])?["stackLevel"] as? Int == 5)
            try await three.reply(profile.id, #"{"status":"Accepted"}"#)
            // The charger keeps the pile for her until her start uses it up (reservations from the queue).
            let reserve = try await three.expectCall()
            #expect(reserve.action == "ReserveNow")
            try await three.reply(reserve.id, #"{"status":"Accepted"}"#)
            let remoteStart = try await three.expectCall()
            #expect(remoteStart.action == "RemoteStartTransaction")
            try await three.reply(remoteStart.id, #"{"status":"Accepted"}"#)

            // It boots again (its profiles may be gone): its configuration is read again, and its share is sent anew.
            _ = try await three.call("BootNotification", #"{"chargePointVendor":"ACME","chargePointModel":"X1"}"#)
            let reread = try await three.expectCall()
            #expect(reread.action == "GetConfiguration")
            let stackOfTwo = #"""
                {"configurationKey":[{"key":"ChargeProfileMaxStackLevel","readonly":true,"value":"2"}]}
                """#
            try await three.reply(reread.id, stackOfTwo)
            let resent = try await three.expectCall(answeringConfigurationWith: stackOfTwo)
            #expect(resent.action == "SetChargingProfile")
            let sent = resent.payload["csChargingProfiles"] as? [String: Any]
            #expect(sent?["stackLevel"] as? Int == 2 && sent?["chargingProfileId"] as? Int == 3)
            let limit = ((sent?["chargingSchedule"] as? [String: Any])?["chargingSchedulePeriod"] as? [[String: Any]])?.first?["limit"] as? Double
            #expect(limit == 10000)
            try await three.reply(resent.id, #"{"status":"Accepted"}"#)
            try await eventually(timeout: .seconds(10)) {
                let rows: [String] = try await api.pool.query("""
                    SELECT state || ' ' || coalesce(answer->>'status', '') AS row FROM pile_commands
                    WHERE pile_id = 3 AND instruction ? 'setPower' ORDER BY id
                    """).map { try $0.decode("row") }
                return rows == ["written Accepted", "written Accepted"]
            }

            // Pile 4 can hold no profile: its share is refused without a SetChargingProfile, and it counts at full power.
            let four = try await OCPPCharger.connect(api, chargePointID: "4")
            _ = try await four.call("BootNotification", #"{"chargePointVendor":"ACME","chargePointModel":"X1"}"#)
            _ = try await four.call("StatusNotification", #"{"connectorId":1,"errorCode":"NoError","status":"Available"}"#)
            let full = try await four.expectCall()
            #expect(full.action == "GetConfiguration")
            try await four.reply(full.id, #"""
                {"configurationKey":[{"key":"MaxChargingProfilesInstalled","readonly":true,"value":"0"}]}
                """#)
            let bob = try await api.driverToken("bob")
            #expect(try await api.call(.post, "/user/charge/request", body: .form(["token": bob, "mode": "T", "request_quantity": "10"])).code == 200)
            try await eventually(timeout: .seconds(10)) {
                let rows: [String] = try await api.pool.query("""
                    SELECT state || ' ' || coalesce(answer::text, '') AS row FROM pile_commands WHERE pile_id = 4 AND instruction ? 'setPower'
                    """).map { try $0.decode("row") }
                return rows == [#"rejected {"MaxChargingProfilesInstalled": 0}"#]
            }
            // At its full 10 kW it fits beside alice only once she is down to the 5 kW left: she is reduced first (to
            // the 7.5 kW of equal shares, sent before pile 4 was found full, then to 5 kW), then bob starts (the next
            // call pile 4 gets is his start, not a profile).
            for share in [7500.0, 5000] {
                let reduction = try await three.expectCall()
                #expect(reduction.action == "SetChargingProfile")
                let reduced = ((reduction.payload["csChargingProfiles"] as? [String: Any])?["chargingSchedule"] as? [String: Any])?["chargingSchedulePeriod"] as? [[String: Any]]
                #expect(reduced?.first?["limit"] as? Double == share)
                try await three.reply(reduction.id, #"{"status":"Accepted"}"#)
            }
            // Pile 4 is kept for bob while he waits for his share, then his start comes.
            let bobReserve = try await four.expectCall()
            #expect(bobReserve.action == "ReserveNow")
            try await four.reply(bobReserve.id, #"{"status":"Accepted"}"#)
            let start = try await four.expectCall()
            #expect(start.action == "RemoteStartTransaction")
        }
    }

    @Test("across two instances: the piles on A and B obey the limit set through B, and acknowledge through their own instance")
    func acrossInstances() async throws {
        try await Cluster.run(instances: 2) { cluster in
            let three = try await cluster.connectPile(3, to: cluster.urls[0])
            let four = try await cluster.connectPile(4, to: cluster.urls[1])
            let admin = try await cluster.adminToken(cluster.urls[1])
            let limit = try await HTTP.call(.post, cluster.urls[1] + "/admin/station/set", ["token": admin, "id": "1", "power_limit_kw": "12"])
            #expect(limit["code"] as? Int == 200)
            for (pile, id) in [(three, 3), (four, 4)] {
                #expect(try await cluster.setStatus("on", pile: id, via: cluster.urls[1], token: admin)["code"] as? Int == 200)
                _ = try await pile.next(matching: { if case .setStatus("on", _) = $0 { true } else { false } })
            }
            for driver in ["carol", "dave"] {
                _ = try await HTTP.call(.post, cluster.urls[0] + "/u/register", ["username": driver, "password": "secret-pass", "battery_capacity": "60"])
                let token = try #require(try await HTTP.call(.post, cluster.urls[0] + "/u/login", ["username": driver, "password": "secret-pass"])["token"] as? String)
                let submitted = try await HTTP.call(.post, cluster.urls[0] + "/user/charge/request", ["token": token, "mode": "T", "request_quantity": "10"])
                #expect(submitted["code"] as? Int == 200, "\(submitted)")
            }
            guard case .startCharging(_, "dave", _, _) = try await four.next(matching: \.isStartCharging, timeout: .seconds(15)) else {
                throw TestFailure("dave not started")
            }
            try await eventually(timeout: .seconds(10)) {
                let reply = try await HTTP.call(.get, cluster.urls[0] + "/admin/station/get", ["token": admin, "id": "1"])
                let data = reply["data"] as? [String: Any]
                let allocated = (data?["piles"] as? [[String: Any]])?.compactMap { $0["allocated_kw"] as? Double }
                return allocated == [6, 6]
            }
            let acked: Int = try await cluster.pool.query("""
                SELECT count(*) AS n FROM pile_commands WHERE instruction ? 'setPower' AND state = 'written' AND acked_at IS NOT NULL
                """).first!.decode("n")
            #expect(acked == 3)
            await three.stop()
            await four.stop()
        }
    }
}

extension LoadManagementTests {
    @Test("across two instances, both simulators: an OCPP charge point on A and a pile of our protocol on B share the limit set through B")
    func bothSimulatorsAcrossInstances() async throws {
        try await Cluster.run(instances: 2) { cluster in
            let admin = try await cluster.adminToken(cluster.urls[1])
            let limit = try await HTTP.call(.post, cluster.urls[1] + "/admin/station/set", ["token": admin, "id": "1", "power_limit_kw": "12"])
            #expect(limit["code"] as? Int == 200)
            var logger = Logger(label: "test.charger")
            logger.logLevel = .critical
            let charger = SimulatedChargePoint(.init(baseURL: cluster.urls[0], pileID: 3, password: TestServer.pilePassword, powerKW: 10,
                                                     turnOn: true), logger: logger)
            let running = Task { try await charger.run() }
            defer { running.cancel() }
            let four = try await cluster.connectPile(4, to: cluster.urls[1])
            #expect(try await cluster.setStatus("on", pile: 4, via: cluster.urls[1], token: admin)["code"] as? Int == 200)
            _ = try await four.next(matching: { if case .setStatus("on", _) = $0 { true } else { false } })
            try await eventually(timeout: .seconds(20)) {
                let on: Int = try await cluster.pool.query("SELECT count(*) AS n FROM piles WHERE id IN (3, 4) AND status = 'on'").first!.decode("n")
                return on == 2
            }
            for driver in ["erin", "frank"] {
                _ = try await HTTP.call(.post, cluster.urls[0] + "/u/register", ["username": driver, "password": "secret-pass", "battery_capacity": "60"])
                let token = try #require(try await HTTP.call(.post, cluster.urls[0] + "/u/login", ["username": driver, "password": "secret-pass"])["token"] as? String)
                let submitted = try await HTTP.call(.post, cluster.urls[0] + "/user/charge/request", ["token": token, "mode": "T", "request_quantity": "10"])
                #expect(submitted["code"] as? Int == 200, "\(submitted)")
            }
            // Both cars charge at 6 kW: the charge point's transaction runs and its profile is in force; every limit acknowledged.
            try await eventually(timeout: .seconds(20)) {
                let reply = try await HTTP.call(.get, cluster.urls[0] + "/admin/station/get", ["token": admin, "id": "1"])
                let piles = ((reply["data"] as? [String: Any])?["piles"] as? [[String: Any]]) ?? []
                let allocated = piles.compactMap { pile in (pile["allocated_kw"] as? Double).map { (pile["pile_id"] as? Int ?? 0, $0) } }
                return allocated.map(\.0) == [3, 4] && allocated.map(\.1) == [6, 6] && charger.transaction != nil
            }
            try await eventually(timeout: .seconds(10)) {
                let rows: [(pile: Int, row: String)] = try await cluster.pool.query("""
                    SELECT pile_id, state || ' ' || coalesce(answer->>'status', '-') || ' ' || (instruction->'setPower'->>'watts') AS row
                    FROM pile_commands WHERE instruction ? 'setPower' ORDER BY id
                    """).map { (try $0.decode("pile_id"), try $0.decode("row")) }
                // The charge point answers its profiles Accepted; our pile acknowledges with an ack frame (no answer).
                return rows.last(where: { $0.pile == 3 })?.row == "written Accepted 6000" && rows.last(where: { $0.pile == 4 })?.row == "written - 6000"
                    && rows.allSatisfy { $0.row.hasPrefix("written ") }
            }
            await four.stop()
        }
    }
}

extension PileSimulatorEvent {
    var isSetPower: Bool { if case .setPower = self { true } else { false } }
    var isStartCharging: Bool { if case .startCharging = self { true } else { false } }
}

extension ConnectedPile {
    /// The next event that matches, skipping the others (status echoes, welcomes).
    func next(matching wanted: (PileSimulatorEvent) -> Bool, timeout: Duration = .seconds(10)) async throws -> PileSimulatorEvent {
        let deadline = ContinuousClock.now + timeout
        while true {
            let event = try await next(timeout: max(.milliseconds(1), deadline - .now))
            if wanted(event) { return event }
        }
    }
}

extension TestAPI {
    /// A registered and logged-in driver's token.
    func driverToken(_ name: String) async throws -> String {
        _ = try await call(.post, "/u/register", body: .form(["username": name, "password": "secret-pass", "battery_capacity": "60"]))
        let reply = try await call(.post, "/u/login", body: .form(["username": name, "password": "secret-pass"]))
        guard let token = reply.token else { throw TestFailure("driver login failed: \(reply.object)") }
        return token
    }

    func lastCommandID(pile: Int) async throws -> Int64 {
        try await pool.query("SELECT max(id) AS id FROM pile_commands WHERE pile_id = \(pile) AND instruction ? 'setPower'").first!.decode("id")
    }
}

extension OCPPCharger {
    /// The next call that is not a GetConfiguration, each GetConfiguration answered with `configuration` as a
    /// charger does: on a busy machine a read answered after its deadline is asked again.
    func expectCall(answeringConfigurationWith configuration: String) async throws -> (id: String, action: String, payload: [String: Any]) {
        while true {
            let call = try await expectCall()
            guard call.action == "GetConfiguration" else { return call }
            try await reply(call.id, configuration)
        }
    }
}
