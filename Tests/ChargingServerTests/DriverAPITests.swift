import Foundation
import PileSimulator
import Testing
import TestSupport

/// Drivers over HTTP: register, log in, one request at a time, and every kind of bad input.
@Suite("Driver API")
struct DriverAPITests {
    @Test("a request is queued, charged, cancelled and billed; the admin view follows")
    func requestLifecycle() async throws {
        let start = OfficialCase.stationTime("09:00")
        try await TestServer.run(configure: { $0.clock = .init(mode: .manual, start: start) }) { api in
            let admin = try await api.adminToken()
            let pile = try await ConnectedPile.open(api, pileID: 3)
            #expect(try await pile.next() == .welcome(status: "off"))
            let on = try await api.call(.post, "/admin/charge/status/set", query: ["token": admin, "id": "3", "status": "on"])
            #expect(on.code == 200, "\(on.object)")
            _ = try await pile.next()
            let driver = try await api.driverToken("alice", capacity: "60")

            let submitted = try await api.call(.post, "/user/charge/request",
                                               body: .json(#"{"token": "\#(driver)", "mode": "T", "request_quantity": 20}"#))
            #expect(submitted.code == 200)
            let data = try #require(submitted.data as? [String: Any])
            #expect(data["queue_number"] as? String == "T1")
            #expect(data["state"] as? String == "charging")
            let started = try await pile.next()
            guard case .startCharging(let requestID, "alice", "T1", 20) = started else { throw TestFailure("no start_charging: \(started)") }

            _ = try await api.call(.post, "/admin/clock/advance", query: ["token": admin, "to": ISO8601Format.string(start.addingTimeInterval(30 * 60))])
            let current = try await api.call(.get, "/user/charge/request", query: ["token": driver])
            let view = try #require(current.data as? [String: Any])
            #expect(view["state"] as? String == "charging")
            #expect(view["pile_id"] as? Int == 3)
            #expect(view["charged_kwh"] as? Double == 5)
            #expect(view["charging_fee"] as? Double == 3.5)  // 09:00–09:30 flat 0.7 × 5 kWh
            #expect(view["service_fee"] as? Double == 4)
            let queue = try await api.call(.get, "/admin/charge/queue", query: ["token": admin, "id": "3"]).rows
            #expect(queue.first?["user_id"] as? String == "alice")
            #expect(queue.first?["fee"] as? Double == 7.5)
            #expect(queue.first?["waiting_time"] as? Int == 0)

            // The pile's meter overrides the modelled energy; a reading for another request is refused.
            try await pile.simulated.sendMeter(requestID: requestID, energyKWh: 4)
            try await eventually {
                let view = try await api.call(.get, "/user/charge/request", query: ["token": driver]).data as? [String: Any]
                return view?["charged_kwh"] as? Double == 4
            }
            try await pile.simulated.sendMeter(requestID: requestID + 100, energyKWh: 1)
            guard case .error = try await pile.next() else { throw TestFailure("meter for an unknown request accepted") }
            try await pile.simulated.sendMeter(requestID: requestID, energyKWh: 5)
            // The reading travels over the WebSocket, the cancel over HTTP: wait until the reading is applied.
            try await eventually {
                let view = try await api.call(.get, "/user/charge/request", query: ["token": driver]).data as? [String: Any]
                return view?["charged_kwh"] as? Double == 5
            }

            let cancelled = try await api.call(.post, "/user/charge/request/cancel", query: ["token": driver])
            #expect(cancelled.code == 200)
            let stopped = try await pile.next()
            guard case .stopCharging(_, "cancelled") = stopped else { throw TestFailure("no stop_charging: \(stopped)") }
            let bills = try await api.call(.get, "/user/charge/bills", query: ["token": driver]).rows
            #expect(bills.count == 1)
            #expect(bills.first?["energy_kwh"] as? Double == 5)
            #expect(bills.first?["total_fee"] as? Double == 7.5)
            #expect(bills.first?["duration"] as? Double == 1800)
            let totals = try await api.call(.get, "/admin/charge/status/get", query: ["token": admin]).rows.first { $0["charging_station_id"] as? Int == 3 }
            #expect(totals?["total_charging_times"] as? Int == 1)
            #expect(totals?["total_charging_power"] as? Double == 5)
            #expect(totals?["total_charging_duration"] as? Double == 1800)
            let again = try await api.call(.post, "/user/charge/request/cancel", query: ["token": driver])
            #expect(again.msg == "没有进行中的充电请求")
            await pile.stop()
        }
    }

    @Test("bad input gets -1 with a clear message and changes nothing")
    func badInput() async throws {
        try await TestServer.run { api in
            let registered = try await api.call(.post, "/u/register", body: .form(["username": "bob", "password": "secret1", "battery_capacity": "50"]))
            #expect(registered.code == 200)
            let duplicate = try await api.call(.post, "/u/register", body: .form(["username": "bob", "password": "secret1", "battery_capacity": "50"]))
            #expect(duplicate.msg == "用户名已存在")
            let badCapacity = try await api.call(.post, "/u/register", body: .form(["username": "carol", "password": "secret1", "battery_capacity": "abc"]))
            #expect(badCapacity.msg == "参数格式错误: battery_capacity")
            // Below one Wh rounds to 0 kWh, the precision the database keeps: refused, not a constraint error.
            let tinyCapacity = try await api.call(.post, "/u/register", body: .form(["username": "carol", "password": "secret1", "battery_capacity": "0.0004"]))
            #expect(tinyCapacity.msg == "参数格式错误: battery_capacity")
            // 64 characters but 128 code points: PostgreSQL's length() is what the constraint counts.
            // (x + U+0301 has no precomposed form, so NFC keeps both code points; é would compose.)
            let combining = String(repeating: "x\u{301}", count: 64)
            let longName = try await api.call(.post, "/u/register", body: .form(["username": combining, "password": "secret1", "battery_capacity": "50"]))
            #expect(longName.msg == "参数格式错误: username")
            let driver = try await api.driverToken("bob", password: "secret1")
            let admin = try await api.adminToken()
            let before = try await api.databaseFingerprint()

            let cases: [([String: String], String)] = [
                (["mode": "X", "request_quantity": "10"], "参数格式错误: mode"),
                (["mode": "F", "request_quantity": "-5"], "充电量必须大于0且不超过电池容量"),
                (["mode": "F", "request_quantity": "0"], "充电量必须大于0且不超过电池容量"),
                (["mode": "F", "request_quantity": "0.0004"], "充电量必须大于0且不超过电池容量"),
                (["mode": "F", "request_quantity": "0.0001", "battery_capacity": "0.0004"], "参数格式错误: battery_capacity"),
                (["mode": "F", "request_quantity": "ten"], "参数格式错误: request_quantity"),
                (["mode": "F", "request_quantity": "12abc"], "参数格式错误: request_quantity"),
                (["mode": "F", "request_quantity": "51"], "充电量必须大于0且不超过电池容量"),
                (["mode": "F"], "缺少参数: request_quantity"),
                (["mode": "F'; DELETE FROM drivers; --", "request_quantity": "10"], "参数格式错误: mode"),
            ]
            for (parameters, message) in cases {
                let reply = try await api.call(.post, "/user/charge/request", body: .form(parameters.merging(["token": driver]) { $1 }))
                #expect(reply.code == -1)
                #expect(reply.msg == message, "\(parameters)")
            }
            #expect(try await api.call(.post, "/user/charge/request/cancel", body: .form(["token": driver])).msg == "没有进行中的充电请求")
            #expect(try await api.call(.post, "/user/charge/request/modify", body: .form(["token": driver, "request_quantity": "5"])).msg == "没有进行中的充电请求")
            #expect(try await api.call(.get, "/user/charge/request", query: ["token": driver]).msg == "没有进行中的充电请求")
            // Another role's token is refused.
            #expect(try await api.call(.post, "/user/charge/request", body: .form(["token": admin, "mode": "F", "request_quantity": "5"])).msg == "token无效或已过期")
            #expect(try await api.databaseFingerprint() == before)

            // No pile is on: the car waits; a second request and a modify outside the waiting area are refused.
            #expect(try await api.call(.post, "/user/charge/request", body: .form(["token": driver, "mode": "F", "request_quantity": "10"])).code == 200)
            #expect(try await api.call(.post, "/user/charge/request", body: .form(["token": driver, "mode": "F", "request_quantity": "10"])).msg == "已有进行中的充电请求")
            let modified = try await api.call(.post, "/user/charge/request/modify", body: .form(["token": driver, "mode": "T"]))
            #expect((modified.data as? [String: Any])?["queue_number"] as? String == "T1")
            let waiting = try await api.call(.get, "/admin/charge/waiting", query: ["token": admin]).rows
            #expect(waiting.map { $0["queue_number"] as? String } == ["T1"])
        }
    }

    @Test("the waiting area refuses cars when it holds N")
    func waitingAreaFull() async throws {
        try await TestServer.run { api in
            for index in 1...11 {
                let token = try await api.driverToken("driver\(index)", capacity: "100")
                let reply = try await api.call(.post, "/user/charge/request", body: .form(["token": token, "mode": "F", "request_quantity": "10"]))
                if index <= 10 {
                    #expect(reply.code == 200)
                } else {
                    #expect(reply.msg == "等候区已满")
                }
            }
            let rows: Int = try await api.pool.query("SELECT count(*) AS n FROM charging_requests WHERE state = 'waiting'").first!.decode("n")
            #expect(rows == 10)
        }
    }
}

extension TestAPI {
    func driverToken(_ username: String, password: String = "secret-pass", capacity: String = "60") async throws -> String {
        _ = try await call(.post, "/u/register", body: .form(["username": username, "password": password, "battery_capacity": capacity]))
        let reply = try await call(.post, "/u/login", body: .form(["username": username, "password": password]))
        guard let token = reply.token else { throw TestFailure("driver login failed: \(reply.object)") }
        return token
    }
}
