import Foundation
import PileSimulator
import PostgresClient
import Testing
import TestSupport

/// Reservations against a live instance with a raw OCPP charger: the queue's ReserveNow and CancelReservation,
/// a charger that cannot reserve, and operators' windows (`/admin/reservations`).
@Suite("Reservations")
struct OCPPReservationTests {
    /// Pile 3 (slow, 10 kW) connected and Available: the only working slow pile of the default station.
    static func slowCharger(_ api: TestAPI) async throws -> OCPPCharger {
        let charger = try await OCPPCharger.connect(api, chargePointID: "3")
        _ = try await charger.call("BootNotification", #"{"chargePointVendor":"ACME","chargePointModel":"X1"}"#)
        _ = try await charger.call("StatusNotification", #"{"connectorId":1,"errorCode":"NoError","status":"Available"}"#)
        return charger
    }

    static func idTag(_ api: TestAPI, _ driver: String) async throws -> String {
        try #require((try await api.call(.get, "/user/charge/request", query: ["token": driver]).data as? [String: Any])?["id_tag"] as? String)
    }

    static func reservationState(_ api: TestAPI, _ id: Int) async throws -> String? {
        try await api.pool.query("SELECT state FROM ocpp_reservations WHERE id = \(id)").first?.decode("state")
    }

    /// alice charges 20 kWh at pile 3 (2 h from 09:00); returns her charger-side transaction and bob's token.
    static func aliceChargingBobNext(_ api: TestAPI, _ charger: OCPPCharger) async throws -> (transactionID: Int, bob: String) {
        let alice = try await api.driverToken("alice", capacity: "60")
        #expect(try await api.call(.post, "/user/charge/request", query: ["token": alice, "mode": "T", "request_quantity": "20"]).code == 200)
        let remoteStart = try await charger.expectCall()
        #expect(remoteStart.action == "RemoteStartTransaction")
        try await charger.reply(remoteStart.id, #"{"status":"Accepted"}"#)
        let aliceTag = try await idTag(api, alice)
        let started = try await charger.call("StartTransaction", #"{"connectorId":1,"idTag":"\#(aliceTag)","meterStart":0,"timestamp":"2024-05-20T01:00:00Z"}"#)
        let transactionID = try #require(started["transactionId"] as? Int)
        let bob = try await api.driverToken("bob", capacity: "60")
        #expect(try await api.call(.post, "/user/charge/request", query: ["token": bob, "mode": "T", "request_quantity": "10"]).code == 200)
        return (transactionID, bob)
    }

    @Test("the car next at an OCPP charger is reserved (ReserveNow: its idTag, expiry = expected arrival + reservation time); its cancel sends CancelReservation")
    func reserveAndCancel() async throws {
        let start = OfficialCase.stationTime("09:00")
        try await TestServer.run(configure: { $0.clock = .init(mode: .manual, start: start) }) { api in
            let charger = try await Self.slowCharger(api)
            let (_, bob) = try await Self.aliceChargingBobNext(api, charger)
            let bobTag = try await Self.idTag(api, bob)

            let reserve = try await charger.expectCall()
            #expect(reserve.action == "ReserveNow")
            #expect(reserve.payload["idTag"] as? String == bobTag)
            #expect(reserve.payload["connectorId"] as? Int == 1)
            let reservationID = try #require(reserve.payload["reservationId"] as? Int)
            // alice's 20 kWh end at 11:00 station time, two hours from the manual clock's now; plus 15 minutes.
            let expiry = try #require(ISO8601DateFormatter.withFractions.date(from: reserve.payload["expiryDate"] as? String ?? "")
                ?? ISO8601DateFormatter().date(from: reserve.payload["expiryDate"] as? String ?? ""))
            #expect(abs(expiry.timeIntervalSinceNow - (2 * 3_600 + 15 * 60)) < 120)
            try await charger.reply(reserve.id, #"{"status":"Accepted"}"#)
            try await eventually("the reservation accepted") { try await Self.reservationState(api, reservationID) == "accepted" }
            _ = try await charger.call("StatusNotification", #"{"connectorId":1,"errorCode":"NoError","status":"Charging"}"#)

            let cancel = Task { try await api.call(.post, "/user/charge/request/cancel", query: ["token": bob]) }
            let cancelReservation = try await charger.expectCall()
            #expect(cancelReservation.action == "CancelReservation")
            #expect(cancelReservation.payload["reservationId"] as? Int == reservationID)
            try await charger.reply(cancelReservation.id, #"{"status":"Accepted"}"#)
            #expect(try await cancel.value.code == 200)
            try await eventually("the reservation cancelled") { try await Self.reservationState(api, reservationID) == "cancelled" }
        }
    }

    @Test("a charger that answers Occupied still gets the car: its RemoteStart follows the car before it, no CancelReservation")
    func occupiedStillGetsTheCar() async throws {
        let start = OfficialCase.stationTime("09:00")
        try await TestServer.run(configure: { $0.clock = .init(mode: .manual, start: start) }) { api in
            let admin = try await api.adminToken()
            let charger = try await Self.slowCharger(api)
            let (transactionID, bob) = try await Self.aliceChargingBobNext(api, charger)
            let bobTag = try await Self.idTag(api, bob)
            let reserve = try await charger.expectCall()
            #expect(reserve.action == "ReserveNow")
            let reservationID = try #require(reserve.payload["reservationId"] as? Int)
            try await charger.reply(reserve.id, #"{"status":"Occupied"}"#)
            try await eventually("the answer recorded") { try await Self.reservationState(api, reservationID) == "occupied" }

            // alice's session ends at 11:00: her stop, then bob's start with his idTag, on the same charger.
            let advance = Task {
                try await api.call(.post, "/admin/clock/advance", query: ["token": admin, "to": ISO8601Format.string(start.addingTimeInterval(2 * 3_600))])
            }
            let remoteStop = try await charger.expectCall()
            #expect(remoteStop.action == "RemoteStopTransaction")
            #expect(remoteStop.payload["transactionId"] as? Int == transactionID)
            try await charger.reply(remoteStop.id, #"{"status":"Accepted"}"#)
            let remoteStart = try await charger.expectCall()
            #expect(remoteStart.action == "RemoteStartTransaction")
            #expect(remoteStart.payload["idTag"] as? String == bobTag)
            try await charger.reply(remoteStart.id, #"{"status":"Accepted"}"#)
            #expect(try await advance.value.code == 200)
            let view = try await api.call(.get, "/user/charge/request", query: ["token": bob]).data as? [String: Any]
            #expect(view?["state"] as? String == "charging")
        }
    }

    @Test("Available after an accepted reservation: the charger released it (recorded); the car keeps its place")
    func releasedByTheCharger() async throws {
        let start = OfficialCase.stationTime("09:00")
        try await TestServer.run(configure: { $0.clock = .init(mode: .manual, start: start) }) { api in
            let charger = try await Self.slowCharger(api)
            let (_, bob) = try await Self.aliceChargingBobNext(api, charger)
            let reserve = try await charger.expectCall()
            let reservationID = try #require(reserve.payload["reservationId"] as? Int)
            try await charger.reply(reserve.id, #"{"status":"Accepted"}"#)
            try await eventually("the reservation accepted") { try await Self.reservationState(api, reservationID) == "accepted" }
            _ = try await charger.call("StatusNotification", #"{"connectorId":1,"errorCode":"NoError","status":"Reserved"}"#)
            #expect(try await Self.reservationState(api, reservationID) == "accepted")
            _ = try await charger.call("StatusNotification", #"{"connectorId":1,"errorCode":"NoError","status":"Available"}"#)
            #expect(try await Self.reservationState(api, reservationID) == "released")
            let view = try await api.call(.get, "/user/charge/request", query: ["token": bob]).data as? [String: Any]
            #expect(view?["state"] as? String == "queued")
        }
    }

    @Test("an operator's window: bad input -1 and nothing stored; the pile is kept from other drivers; list and cancel")
    func operatorWindow() async throws {
        let start = OfficialCase.stationTime("09:00")
        try await TestServer.run(configure: { $0.clock = .init(mode: .manual, start: start) }) { api in
            let admin = try await api.adminToken()
            let charger = try await Self.slowCharger(api)
            _ = try await api.driverToken("vip", capacity: "60")
            let from = ISO8601Format.string(start), to = ISO8601Format.string(start.addingTimeInterval(3_600))
            let good = ["token": admin, "id": "3", "username": "vip", "from": from, "to": to]
            let bad: [(String, String?)] = [
                ("id", nil), ("id", "0"), ("id", "99999999999"), ("id", "x"), ("id", "77"), ("username", nil), ("username", "nobody"),
                ("from", "yesterday"), ("to", nil), ("to", from), ("to", ISO8601Format.string(start.addingTimeInterval(40 * 86_400))),
            ]
            for (name, value) in bad {
                var query = good
                query[name] = value
                let reply = try await api.call(.post, "/admin/reservations", body: .form(query))
                #expect(reply.code == -1, "\(name)=\(value ?? "absent"): \(reply.object)")
            }
            let past = try await api.call(.post, "/admin/reservations", body: .form(good.merging(
                ["from": ISO8601Format.string(start.addingTimeInterval(-7_200)), "to": ISO8601Format.string(start.addingTimeInterval(-3_600))]) { $1 }))
            #expect(past.code == -1)
            let stored: Int64 = try await api.pool.query("SELECT count(*) AS n FROM pile_reservations").first!.decode("n")
            #expect(stored == 0)

            let made = try await api.call(.post, "/admin/reservations", body: .form(good))
            #expect(made.code == 200)
            let reservationID = try #require((made.data as? [String: Any])?["reservation_id"] as? Int)
            let listed = try await api.call(.get, "/admin/reservations", query: ["token": admin])
            #expect(listed.rows.map { $0["reservation_id"] as? Int } == [reservationID])
            #expect(listed.rows.first?["username"] as? String == "vip")

            // alice's car would charge inside vip's hour at the only slow pile: it waits.
            let alice = try await api.driverToken("alice", capacity: "60")
            #expect(try await api.call(.post, "/user/charge/request", query: ["token": alice, "mode": "T", "request_quantity": "5"]).code == 200)
            let waiting = try await api.call(.get, "/user/charge/request", query: ["token": alice]).data as? [String: Any]
            #expect(waiting?["state"] as? String == "waiting")

            for bogus in ["abc", "0", "99999999999999999999", "424242"] {
                #expect(try await api.call(.post, "/admin/reservations/cancel", body: .form(["token": admin, "reservation_id": bogus])).code == -1)
            }
            let cancel = Task { try await api.call(.post, "/admin/reservations/cancel", body: .form(["token": admin, "reservation_id": "\(reservationID)"])) }
            let remoteStart = try await charger.expectCall()
            #expect(remoteStart.action == "RemoteStartTransaction")
            try await charger.reply(remoteStart.id, #"{"status":"Accepted"}"#)
            let cancelled = try await cancel.value
            #expect(cancelled.code == 200)
            #expect((cancelled.data as? [String: Any])?["state"] as? String == "cancelled")
            #expect(try await api.call(.post, "/admin/reservations/cancel", body: .form(["token": admin, "reservation_id": "\(reservationID)"])).code == -1)
            #expect(try await api.call(.get, "/admin/reservations", query: ["token": admin]).rows.isEmpty)
            #expect(try await api.call(.get, "/admin/reservations", query: ["token": admin, "all": "true"]).rows.count == 1)
            #expect(try await api.call(.get, "/admin/reservations", query: ["token": admin, "all": "maybe"]).code == -1)
        }
    }

    @Test("the reservation time is a station setting: station/set reservation_minutes, 1 to 1440")
    func reservationMinutesSetting() async throws {
        try await TestServer.run { api in
            let admin = try await api.adminToken()
            for bad in ["0", "1441", "x", "99999999999999999999"] {
                #expect(try await api.call(.post, "/admin/station/set", body: .form(["token": admin, "id": "1", "reservation_minutes": bad])).code == -1)
            }
            // A bad power limit beside a good reservation time changes neither.
            #expect(try await api.call(.post, "/admin/station/set", body: .form(
                ["token": admin, "id": "1", "reservation_minutes": "30", "power_limit_kw": "-1"])).code == -1)
            #expect((try await api.call(.get, "/admin/station/get", query: ["token": admin, "id": "1"]).data as? [String: Any])?["reservation_minutes"] as? Int == 15)
            let set = try await api.call(.post, "/admin/station/set", body: .form(["token": admin, "id": "1", "reservation_minutes": "30"]))
            #expect(set.code == 200)
            #expect((set.data as? [String: Any])?["reservation_minutes"] as? Int == 30)
        }
    }
}
