import Foundation
import PileSimulator
import Testing
import TestSupport

/// A charger that was offline replays its backlog on reconnect (docs/ocpp.md, "Sessions that happened
/// offline"). The station's clock is manual: created at 08:00, moved to 12:00, and the sessions replayed
/// happened between, in the tariff's peak (10–15 h: 1.0 + service 0.8 per kWh) unless said otherwise.
@Suite("OCPP 1.6J offline sessions")
struct OCPPOfflineTests {
    static let created = OfficialCase.stationTime("08:00")
    static let now = OfficialCase.stationTime("12:00")

    static func at(_ clock: String) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: OfficialCase.stationTime(clock))
    }

    /// A server whose station clock stands at 12:00, with charger 3 (10 kW, slow) connected and available.
    static func run(_ test: @Sendable (TestAPI, String, OCPPCharger) async throws -> Void) async throws {
        try await TestServer.run(configure: { $0.clock = .init(mode: .manual, start: created) }) { api in
            let admin = try await api.adminToken()
            #expect(try await api.call(.post, "/admin/clock/advance", query: ["token": admin, "to": ISO8601Format.string(now)]).code == 200)
            let charger = try await OCPPCharger.connect(api, chargePointID: "3")
            _ = try await charger.call("StatusNotification", #"{"connectorId":1,"errorCode":"NoError","status":"Available"}"#)
            try await test(api, admin, charger)
        }
    }

    static func status(_ answer: [String: Any]) -> String? { (answer["idTagInfo"] as? [String: Any])?["status"] as? String }

    static func provision(_ api: TestAPI, admin: String, tag: String, driver: String, blocked: Bool = false) async throws {
        _ = try await api.driverToken(driver, capacity: "60")
        let reply = try await api.call(.post, "/admin/idtags", query: ["token": admin, "id_tag": tag, "username": driver, "blocked": "\(blocked)"])
        #expect(reply.code == 200, "\(reply.object)")
    }

    /// The bills of a driver, as (energy kWh, total fee, started, finished).
    static func bills(_ api: TestAPI, driver: String) async throws -> [(energy: Double, total: Double, from: Date, to: Date)] {
        try await api.pool.query("""
            SELECT b.energy_kwh::float8 AS energy, b.total_fee::float8 AS total, b.started_at, b.finished_at
            FROM bills b JOIN drivers d ON d.id = b.driver_id WHERE d.username = \(driver) ORDER BY b.id
            """).map { (try $0.decode("energy"), try $0.decode("total"), try $0.decode("started_at"), try $0.decode("finished_at")) }
    }

    static func flags(_ api: TestAPI, transaction: Int) async throws -> [String] {
        let text: String = try await api.pool.query("""
            SELECT array_to_string(timestamp_flags, ',') AS flags FROM ocpp_transactions WHERE id = \(Int32(transaction))
            """).first!.decode("flags")
        return text.split(separator: ",").map(String.init).sorted()
    }

    @Test("a session replayed after the fact is billed once at meterStop − meterStart over the charger's times, shown in the bills and reports; the queue at the pile is untouched and replays change nothing")
    func replayedSession() async throws {
        try await Self.run { api, admin, charger in
            try await Self.provision(api, admin: admin, tag: "CARD-AMY", driver: "amy")
            // Meanwhile the station runs: ben charges at pile 3, carol waits behind him.
            let ben = try await api.driverToken("ben", capacity: "60")
            #expect(try await api.call(.post, "/user/charge/request", query: ["token": ben, "mode": "T", "request_quantity": "20"]).code == 200)
            let remoteStart = try await charger.expectCall()
            #expect(remoteStart.action == "RemoteStartTransaction")
            try await charger.reply(remoteStart.id, #"{"status":"Accepted"}"#)
            let benTag = try #require(remoteStart.payload["idTag"] as? String)
            let benStart = try await charger.call("StartTransaction", #"{"connectorId":1,"idTag":"\#(benTag)","meterStart":100000,"timestamp":"\#(ISO8601DateFormatter().string(from: Self.now))"}"#)
            #expect(Self.status(benStart) == "Accepted")
            let carol = try await api.driverToken("carol", capacity: "60")
            #expect(try await api.call(.post, "/user/charge/request", query: ["token": carol, "mode": "T", "request_quantity": "10"]).code == 200)
            let queueBefore = try await api.call(.get, "/admin/charge/queue", query: ["token": admin, "id": "3"]).rows
            #expect(queueBefore.map { $0["user_id"] as? String } == ["ben", "carol"])
            let commandsBefore: Int = try await api.pool.query("SELECT count(*)::int AS n FROM pile_commands").first!.decode("n")

            // The backlog: amy charged 4.5 kWh from 10:00 to 10:30 while the charger was offline.
            let started = try await charger.call("StartTransaction", #"{"connectorId":1,"idTag":"CARD-AMY","meterStart":1000,"timestamp":"\#(Self.at("10:00"))"}"#)
            #expect(Self.status(started) == "Accepted")
            let transactionID = try #require(started["transactionId"] as? Int)
            _ = try await charger.call("MeterValues", #"{"connectorId":1,"transactionId":\#(transactionID),"meterValue":[{"timestamp":"\#(Self.at("10:15"))","sampledValue":[{"value":"3250","measurand":"Energy.Active.Import.Register","unit":"Wh"}]}]}"#)
            let stop = #"{"transactionId":\#(transactionID),"idTag":"CARD-AMY","meterStop":5500,"timestamp":"\#(Self.at("10:30"))","reason":"EVDisconnected","transactionData":[{"timestamp":"\#(Self.at("10:00"))","sampledValue":[{"value":"1000","context":"Transaction.Begin"}]},{"timestamp":"\#(Self.at("10:30"))","sampledValue":[{"value":"5500","context":"Transaction.End"}]}]}"#
            #expect(Self.status(try await charger.call("StopTransaction", stop)) == "Accepted")

            let bills = try await Self.bills(api, driver: "amy")
            #expect(bills.count == 1)
            #expect(bills.first?.energy == 4.5)
            #expect(bills.first?.total == 8.1)  // 4.5 kWh × (peak 1.0 + service 0.8)
            #expect(bills.first?.from == OfficialCase.stationTime("10:00"))
            #expect(bills.first?.to == OfficialCase.stationTime("10:30"))
            let amy = try await api.driverToken("amy", capacity: "60")
            #expect(try await api.call(.get, "/user/charge/bills", query: ["token": amy]).rows.first?["energy_kwh"] as? Double == 4.5)
            #expect(try await api.call(.get, "/admin/bills", query: ["token": admin, "driver": "amy"]).rows.count == 1)
            let report = try await api.call(.get, "/admin/reports", query: ["token": admin, "granularity": "day", "pile_id": "3"]).rows
            #expect(report.first?["energy_kwh"] as? Double == 4.5, "\(report)")
            #expect(try await Self.flags(api, transaction: transactionID).isEmpty)

            // The schedule: the same cars in the same places, and nothing sent to the charger.
            let queueAfter = try await api.call(.get, "/admin/charge/queue", query: ["token": admin, "id": "3"]).rows
            #expect(queueAfter.map { $0["user_id"] as? String } == ["ben", "carol"])
            #expect(queueAfter.map { $0["state"] as? String } == queueBefore.map { $0["state"] as? String })
            let commandsAfter: Int = try await api.pool.query("SELECT count(*)::int AS n FROM pile_commands").first!.decode("n")
            #expect(commandsAfter == commandsBefore)

            // The whole backlog again (the charger never saw our answers): the same transaction, no second bill.
            let again = try await charger.call("StartTransaction", #"{"connectorId":1,"idTag":"CARD-AMY","meterStart":1000,"timestamp":"\#(Self.at("10:00"))"}"#)
            #expect(again["transactionId"] as? Int == transactionID)
            #expect(Self.status(again) == "Accepted")
            _ = try await charger.call("StopTransaction", stop)
            _ = try await charger.call("StopTransaction", stop.replacingOccurrences(of: #""transactionId":\#(transactionID)"#, with: #""transactionId":-1"#))
            #expect(try await Self.bills(api, driver: "amy").count == 1)
            let status = try await api.call(.get, "/admin/charge/status/get", query: ["token": admin]).rows.first { $0["charging_station_id"] as? Int == 3 }
            #expect(status?["total_charging_power"] as? Double == 4.5)
            #expect(try await api.call(.get, "/admin/charge/queue", query: ["token": admin, "id": "3"]).rows.map { $0["user_id"] as? String } == ["ben", "carol"])
        }
    }

    @Test("a StopTransaction with transactionId −1 closes the replayed transaction it fits; one with the charger's own id and no StartTransaction is made from its transactionData; each billed once")
    func unknownTransactionIDs() async throws {
        try await Self.run { api, admin, charger in
            try await Self.provision(api, admin: admin, tag: "CARD-EVE", driver: "eve")
            let started = try await charger.call("StartTransaction", #"{"connectorId":1,"idTag":"CARD-EVE","meterStart":0,"timestamp":"\#(Self.at("09:00"))"}"#)
            let transactionID = try #require(started["transactionId"] as? Int)
            // 2 kWh from 09:00 to 09:30 (flat 0.7 + 0.8), stopped under −1.
            _ = try await charger.call("StopTransaction", #"{"transactionId":-1,"idTag":"CARD-EVE","meterStop":2000,"timestamp":"\#(Self.at("09:30"))"}"#)
            let stopped: Int = try await api.pool.query("""
                SELECT count(*)::int AS n FROM ocpp_transactions WHERE id = \(Int32(transactionID)) AND meter_stop_wh = 2000
                """).first!.decode("n")
            #expect(stopped == 1)

            // The charger lost the start of its next session: only the stop, under its own id 4711, 1 kWh from 10:00 to 10:20.
            let ownID = #"{"transactionId":4711,"idTag":"CARD-EVE","meterStop":3000,"timestamp":"\#(Self.at("10:20"))","transactionData":[{"timestamp":"\#(Self.at("10:00"))","sampledValue":[{"value":"2.000","unit":"kWh","context":"Transaction.Begin"}]},{"timestamp":"\#(Self.at("10:20"))","sampledValue":[{"value":"3000","context":"Transaction.End"}]}]}"#
            _ = try await charger.call("StopTransaction", ownID)
            _ = try await charger.call("StopTransaction", ownID)
            let bills = try await Self.bills(api, driver: "eve")
            #expect(bills.map(\.energy) == [2, 1])
            #expect(bills.map(\.total) == [3, 1.8])
            #expect(bills.last?.from == OfficialCase.stationTime("10:00"))
            let made: [String] = try await api.pool.query("""
                SELECT array_to_string(timestamp_flags, ',') AS flags FROM ocpp_transactions WHERE connector_id IS NULL AND offline
                """).map { try $0.decode("flags") }
            #expect(made == ["start_from_transaction_data"])

            // Neither an idTag nor a start reading: nothing to bill, nothing recorded, still acknowledged.
            _ = try await charger.call("StopTransaction", #"{"transactionId":-1,"meterStop":9000,"timestamp":"\#(Self.at("11:00"))"}"#)
            let transactions: Int = try await api.pool.query("SELECT count(*)::int AS n FROM ocpp_transactions").first!.decode("n")
            #expect(transactions == 2)
        }
    }

    @Test("a card blocked before the backlog came is answered Blocked and billed all the same; an unknown card is recorded, flagged and billed to nobody")
    func blockedAndUnknownCards() async throws {
        try await Self.run { api, admin, charger in
            try await Self.provision(api, admin: admin, tag: "CARD-DAN", driver: "dan")
            #expect(try await api.call(.post, "/admin/idtags", query: ["token": admin, "id_tag": "CARD-DAN", "username": "dan", "blocked": "true"]).code == 200)
            let started = try await charger.call("StartTransaction", #"{"connectorId":1,"idTag":"CARD-DAN","meterStart":500,"timestamp":"\#(Self.at("11:00"))"}"#)
            #expect(Self.status(started) == "Blocked")
            let transactionID = try #require(started["transactionId"] as? Int)
            let stopped = try await charger.call("StopTransaction", #"{"transactionId":\#(transactionID),"idTag":"CARD-DAN","meterStop":1500,"timestamp":"\#(Self.at("11:10"))"}"#)
            #expect(Self.status(stopped) == "Blocked")
            let bills = try await Self.bills(api, driver: "dan")
            #expect(bills.map(\.energy) == [1])
            #expect(bills.map(\.total) == [1.8])

            let unknown = try await charger.call("StartTransaction", #"{"connectorId":1,"idTag":"NOBODY","meterStart":1500,"timestamp":"\#(Self.at("11:20"))"}"#)
            #expect(Self.status(unknown) == "Invalid")
            let unknownID = try #require(unknown["transactionId"] as? Int)
            _ = try await charger.call("StopTransaction", #"{"transactionId":\#(unknownID),"meterStop":2000,"timestamp":"\#(Self.at("11:30"))"}"#)
            #expect(try await Self.flags(api, transaction: unknownID) == ["unknown_id_tag"])
            let row = try #require(try await api.pool.query("""
                SELECT bill_id, metered_wh FROM ocpp_offline_sessions WHERE transaction_id = \(Int32(unknownID))
                """).first)
            #expect(try row.decode("bill_id", as: Int64?.self) == nil)
            #expect(try row.decode("metered_wh", as: Int64.self) == 500)
            let billCount: Int = try await api.pool.query("SELECT count(*)::int AS n FROM bills").first!.decode("n")
            #expect(billCount == 1)
        }
    }

    @Test("implausible charger times are flagged, and the bill then ends when chargepile heard of the stop, after as long as the pile needs for the energy")
    func implausibleTimes() async throws {
        try await Self.run { api, admin, charger in
            try await Self.provision(api, admin: admin, tag: "CARD-FAY", driver: "fay")
            // (start, stop, metered Wh, flag): 2 kWh at 10 kW take 12 minutes, 5 kWh 30.
            let cases: [(String, String, Int, String)] = [
                ("11:00", "10:50", 2000, "stop_before_start"),
                ("11:00", "13:00", 2000, "stop_in_future"),
                ("07:00", "07:30", 2000, "start_before_provisioning"),
                ("10:00", "10:10", 5000, "energy_beyond_power"),
            ]
            var register = 0
            for (start, stop, wh, flag) in cases {
                let started = try await charger.call("StartTransaction", #"{"connectorId":1,"idTag":"CARD-FAY","meterStart":\#(register),"timestamp":"\#(Self.at(start))"}"#)
                let transactionID = try #require(started["transactionId"] as? Int)
                _ = try await charger.call("StopTransaction", #"{"transactionId":\#(transactionID),"meterStop":\#(register + wh),"timestamp":"\#(Self.at(stop))"}"#)
                register += wh
                #expect(try await Self.flags(api, transaction: transactionID).contains(flag), "\(flag)")
            }
            let bills = try await Self.bills(api, driver: "fay")
            #expect(bills.map(\.energy) == [2, 2, 2, 5])
            #expect(bills.map(\.to) == Array(repeating: Self.now, count: 4))
            #expect(bills.map(\.from) == [OfficialCase.stationTime("11:48"), OfficialCase.stationTime("11:48"), OfficialCase.stationTime("11:48"),
                                          OfficialCase.stationTime("11:30")])
            #expect(bills.map(\.total) == [3.6, 3.6, 3.6, 9])  // peak 1.0 + service 0.8
        }
    }

    @Test("a StartTransaction stamped now is a live card session the engine schedules, not an offline one")
    func liveCardIsNotOffline() async throws {
        try await Self.run { api, admin, charger in
            try await Self.provision(api, admin: admin, tag: "CARD-GUS", driver: "gus")
            let started = try await charger.call("StartTransaction", #"{"connectorId":1,"idTag":"CARD-GUS","meterStart":0,"timestamp":"\#(Self.at("11:59"))"}"#)
            #expect(Self.status(started) == "Accepted")
            let queue = try await api.call(.get, "/admin/charge/queue", query: ["token": admin, "id": "3"]).rows
            #expect(queue.map { $0["user_id"] as? String } == ["gus"])
            let offline: Int = try await api.pool.query("SELECT count(*)::int AS n FROM ocpp_transactions WHERE offline").first!.decode("n")
            #expect(offline == 0)
        }
    }
}
