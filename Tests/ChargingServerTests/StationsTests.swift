import ChargingDomain
import ChargingStore
import Foundation
import HTTPTypes
import PileSimulator
import Testing
import TestSupport

/// Many stations behind one API: the optional `station` parameter, the stations overview, drivers at a station.
@Suite("Stations")
struct StationsTests {
    /// Station 2 "东区" (M 2, N 1, a flat tariff of 1.0, service fee 0.5) with piles 21 (fast) and 22 (slow),
    /// their password the test piles' own, on a manual clock at `start`.
    static func addSecondStation(_ api: TestAPI, start: Date) async throws {
        var settings = StationSettings.standard
        settings.queueLength = 2
        settings.waitingCapacity = 1
        settings.tariff = try #require(TariffSchedule(periodsText: "day:0-0=1.0"))
        settings.serviceFeePerKWh = Decimal(string: "0.5")!
        try await StationDirectory(pool: api.pool).add(id: 2, name: "东区", settings: settings, clock: .manual, start: start)
        let hash: String = try await api.pool.query("SELECT password_hash FROM piles WHERE id = 1").first!.decode("password_hash")
        try await StationStore(pool: api.pool).addPiles(
            [PileSpec(id: 21, mode: .fast, powerWatts: 30_000), PileSpec(id: 22, mode: .slow, powerWatts: 10_000)],
            stationID: 2, passwordHash: hash)
    }

    @Test("without `station` the seed's endpoints answer as before; with it, one station's piles, queues, waiting area and clock")
    func stationParameter() async throws {
        let start = OfficialCase.stationTime("09:00")
        try await TestServer.run(configure: { $0.clock = .init(mode: .manual, start: start) }) { api in
            let admin = try await api.adminToken()
            try await Self.addSecondStation(api, start: start)
            await #expect(throws: StoreError.stationExists) {
                try await StationDirectory(pool: api.pool).add(id: 2, name: "again", settings: .standard)
            }

            let all = try await api.call(.get, "/admin/charge/status/get", query: ["token": admin])
            #expect(all.rows.map { $0["charging_station_id"] as? Int } == [1, 2, 3, 4, 5, 21, 22])
            #expect(all.rows.first.map { Set($0.keys) } == ["charging_station_id", "status", "total_charging_times", "total_charging_power",
                                                            "total_charging_duration", "kind", "power_kw", "connected"])
            let second = try await api.call(.get, "/admin/charge/status/get", query: ["token": admin, "station": "2"])
            #expect(second.rows.map { $0["charging_station_id"] as? Int } == [21, 22])
            let first = try await api.call(.get, "/admin/charge/status/get", query: ["token": admin, "station": "1"])
            #expect(first.rows.map { $0["charging_station_id"] as? Int } == [1, 2, 3, 4, 5])
            for (value, message) in [("9", "充电站不存在"), ("abc", "参数格式错误: station"), ("0", "参数格式错误: station")] {
                for (method, path, extra) in [(.get, "/admin/charge/status/get", [:]), (.get, "/admin/charge/queue", ["id": "1"]),
                                              (.post, "/admin/charge/status/set", ["id": "1", "status": "on"]),
                                              (.get, "/admin/charge/waiting", [:]), (.get, "/admin/clock", [:]), (.get, "/admin/piles", [:]),
                                              (.get, "/admin/reports", [:]), (.get, "/admin/bills", [:]), (.get, "/admin/commands", [:]),
                                              (.get, "/admin/stations", [:]), (.post, "/admin/ocpp/call", ["id": "1", "action": "ClearCache"])] as [(HTTPRequest.Method, String, [String: String])] {
                    let reply = try await api.call(method, path, query: ["token": admin, "station": value].merging(extra) { $1 })
                    #expect(reply.code == -1 && reply.msg == message, "\(path) station=\(value): \(reply.object)")
                }
            }

            // A pile of another station is unknown there.
            let foreignQueue = try await api.call(.get, "/admin/charge/queue", query: ["token": admin, "id": "21", "station": "1"])
            #expect(foreignQueue.code == -1 && foreignQueue.msg == "充电桩不存在")
            let ownQueue = try await api.call(.get, "/admin/charge/queue", query: ["token": admin, "id": "21", "station": "2"])
            #expect(ownQueue.code == 200 && ownQueue.rows.isEmpty)
            let pile = try await ConnectedPile.open(api, pileID: 21)
            defer { Task { await pile.stop() } }
            #expect(try await pile.next() == .welcome(status: "off"))
            let foreignSet = try await api.call(.post, "/admin/charge/status/set", query: ["token": admin, "id": "21", "status": "on", "station": "1"])
            #expect(foreignSet.code == -1 && foreignSet.msg == "充电桩不存在")
            let foreignCall = try await api.call(.post, "/admin/ocpp/call",
                                                 query: ["token": admin, "id": "21", "action": "ClearCache", "station": "1"])
            #expect(foreignCall.code == -1 && foreignCall.msg == "充电桩不存在")
            let on = try await api.call(.post, "/admin/charge/status/set", query: ["token": admin, "id": "21", "status": "on", "station": "2"])
            #expect(on.code == 200, "\(on.object)")
            guard case .setStatus("on", _) = try await pile.next() else { throw TestFailure("no set_status on") }

            let piles = try await api.call(.get, "/admin/piles", query: ["token": admin, "station": "2"])
            #expect(piles.rows.map { $0["charging_station_id"] as? Int } == [21, 22])
            #expect(piles.rows.allSatisfy { $0["station_id"] as? Int == 2 })
            let clock = try await api.call(.get, "/admin/clock", query: ["token": admin, "station": "2"])
            #expect(clock.code == 200 && (clock.data as? [String: Any])?["mode"] as? String == "manual")
        }
    }

    @Test("a driver charges at the station named, is seen there and only there, and its bill counts in that station's day")
    func driverAtSecondStation() async throws {
        let start = OfficialCase.stationTime("09:00")
        try await TestServer.run(configure: { $0.clock = .init(mode: .manual, start: start) }) { api in
            let admin = try await api.adminToken()
            try await Self.addSecondStation(api, start: start)
            let pile = try await ConnectedPile.open(api, pileID: 21)
            defer { Task { await pile.stop() } }
            _ = try await pile.next()
            let on = try await api.call(.post, "/admin/charge/status/set", query: ["token": admin, "id": "21", "status": "on"])
            #expect(on.code == 200, "\(on.object)")
            _ = try await pile.next()

            let alice = try await api.driverToken("alice")
            let submitted = try await api.call(.post, "/user/charge/request",
                                               body: .form(["token": alice, "mode": "F", "request_quantity": "10", "station": "2"]))
            #expect(submitted.code == 200, "\(submitted.object)")
            let data = try #require(submitted.data as? [String: Any])
            #expect(data["station_id"] as? Int == 2)
            #expect(data["queue_number"] as? String == "F1")
            #expect(data["state"] as? String == "charging")
            guard case .startCharging(_, "alice", "F1", 10) = try await pile.next() else { throw TestFailure("no start_charging at pile 21") }

            // One active request across all stations.
            let elsewhere = try await api.call(.post, "/user/charge/request", body: .form(["token": alice, "mode": "T", "request_quantity": "5"]))
            #expect(elsewhere.code == -1 && elsewhere.msg == StationError.alreadyHasActiveRequest.message)
            let unknown = try await api.call(.post, "/user/charge/request",
                                             body: .form(["token": alice, "mode": "T", "request_quantity": "5", "station": "9"]))
            #expect(unknown.code == -1 && unknown.msg == "充电站不存在")
            let current = try await api.call(.get, "/user/charge/request", query: ["token": alice])
            #expect((current.data as? [String: Any])?["station_id"] as? Int == 2)
            #expect((current.data as? [String: Any])?["pile_id"] as? Int == 21)

            // Station 2's waiting area holds one car (N 1): bob waits, carol is refused; station 1 is unaffected.
            let bob = try await api.driverToken("bob")
            let bobs = try await api.call(.post, "/user/charge/request", body: .form(["token": bob, "mode": "T", "request_quantity": "5", "station": "2"]))
            #expect(bobs.code == 200 && (bobs.data as? [String: Any])?["state"] as? String == "waiting", "\(bobs.object)")
            let carol = try await api.driverToken("carol")
            let carols = try await api.call(.post, "/user/charge/request", body: .form(["token": carol, "mode": "T", "request_quantity": "5", "station": "2"]))
            #expect(carols.code == -1 && carols.msg == StationError.waitingAreaFull.message)
            let waiting2 = try await api.call(.get, "/admin/charge/waiting", query: ["token": admin, "station": "2"])
            #expect(waiting2.rows.map { $0["user_id"] as? String } == ["bob"])
            let waiting1 = try await api.call(.get, "/admin/charge/waiting", query: ["token": admin])
            #expect(waiting1.code == 200 && waiting1.rows.isEmpty, "without station: station 1's, as before")
            let modified = try await api.call(.post, "/user/charge/request/modify", body: .form(["token": bob, "request_quantity": "6"]))
            #expect(modified.code == 200 && (modified.data as? [String: Any])?["station_id"] as? Int == 2, "\(modified.object)")
            let queue = try await api.call(.get, "/admin/charge/queue", query: ["token": admin, "id": "21", "station": "2"])
            #expect(queue.rows.map { $0["user_id"] as? String } == ["alice"])

            var overview = try await api.call(.get, "/admin/stations", query: ["token": admin])
            #expect(overview.rows.map { $0["station_id"] as? Int } == [1, 2])
            #expect(overview.rows.map { $0["name"] as? String } == ["default", "东区"])
            let busy = try #require(overview.rows.last)
            #expect(busy["piles"] as? Int == 2 && busy["piles_on"] as? Int == 1 && busy["piles_offline"] as? Int == 1)
            #expect(busy["piles_connected"] as? Int == 1)
            #expect(busy["cars_waiting"] as? Int == 1 && busy["cars_charging"] as? Int == 1 && busy["cars_queued"] as? Int == 0)
            #expect(overview.rows.first?["cars_charging"] as? Int == 0)

            // 10 kWh at 30 kW: done in 20 minutes; the bill is station 2's, at its flat 1.0 + 0.5 per kWh.
            let advanced = try await api.call(.post, "/admin/clock/advance",
                                              query: ["token": admin, "station": "2", "to": ISO8601Format.string(start.addingTimeInterval(30 * 60))])
            #expect(advanced.code == 200, "\(advanced.object)")
            let bills2 = try await api.call(.get, "/admin/bills", query: ["token": admin, "station": "2"])
            #expect(bills2.rows.map { $0["user_id"] as? String } == ["alice"])
            #expect(bills2.rows.first?["total_fee"] as? Double == 15)
            let bills1 = try await api.call(.get, "/admin/bills", query: ["token": admin, "station": "1"])
            #expect(bills1.code == 200 && bills1.rows.isEmpty)
            let report = try await api.call(.get, "/admin/reports", query: ["token": admin, "station": "2"])
            #expect(report.rows.map { $0["pile_id"] as? Int } == [21])
            #expect(report.rows.first?["station_id"] as? Int == 2)
            overview = try await api.call(.get, "/admin/stations", query: ["token": admin, "station": "2"])
            let day = try #require(overview.rows.first)
            #expect(overview.rows.count == 1)
            #expect(day["sessions_today"] as? Int == 1 && day["energy_kwh_today"] as? Double == 10 && day["revenue_today"] as? Double == 15)
            #expect(day["today"] as? String == Self.localDate(start))

            let cancelled = try await api.call(.post, "/user/charge/request/cancel", body: .form(["token": bob]))
            #expect(cancelled.code == 200, "\(cancelled.object)")
            let afterCancel = try await api.call(.get, "/admin/charge/waiting", query: ["token": admin, "station": "2"])
            #expect(afterCancel.rows.isEmpty)
            // Alice is done at station 2: she may charge at station 1 now.
            let again = try await api.call(.post, "/user/charge/request", body: .form(["token": alice, "mode": "T", "request_quantity": "5"]))
            #expect(again.code == 200 && (again.data as? [String: Any])?["station_id"] as? Int == 1, "\(again.object)")
        }
    }

    static func localDate(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }
}
