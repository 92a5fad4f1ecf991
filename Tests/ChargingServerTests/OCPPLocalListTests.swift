import Foundation
import Testing
import TestSupport

/// Local authorization lists kept equal to the idTags (`serve --ocpp-local-list-sync`).
@Suite("OCPP 1.6J local authorization lists")
struct OCPPLocalListTests {
    private static let configurationKeys = ["SupportedFeatureProfiles", "LocalAuthListEnabled", "LocalAuthListMaxLength", "SendLocalListMaxLength"]

    private static func configuration(profiles: String, enabled: Bool = true, sendMax: Int = 1) -> String {
        """
        {"configurationKey":[{"key":"SupportedFeatureProfiles","readonly":true,"value":"\(profiles)"},\
        {"key":"LocalAuthListEnabled","readonly":false,"value":"\(enabled)"},\
        {"key":"LocalAuthListMaxLength","readonly":true,"value":"10"},\
        {"key":"SendLocalListMaxLength","readonly":true,"value":"\(sendMax)"}]}
        """
    }

    private static func list(_ payload: [String: Any]) -> [String: String] {
        var tags: [String: String] = [:]
        for entry in payload["localAuthorizationList"] as? [[String: Any]] ?? [] {
            tags[entry["idTag"] as? String ?? "?"] = (entry["idTagInfo"] as? [String: Any])?["status"] as? String ?? "removed"
        }
        return tags
    }

    /// Reads chargepile's CALLs to the test chargers, each once its command row exists: on a busy machine the
    /// service may take longer to send one than the test socket's 5 s read timeout.
    private final class CallReader: @unchecked Sendable {
        let api: TestAPI
        private var read: [Int: Int] = [:]

        init(_ api: TestAPI) { self.api = api }

        func next(_ charger: OCPPCharger, pile: Int) async throws -> (id: String, action: String, payload: [String: Any]) {
            let seen = read[pile, default: 0]
            try await eventually("command \(seen + 1) for pile \(pile)", timeout: .seconds(60)) {
                try await self.api.pool.query("SELECT count(*)::integer AS n FROM pile_commands WHERE pile_id = \(pile)").first!
                    .decode("n", as: Int.self) > seen
            }
            read[pile] = seen + 1
            return try await charger.expectCall()
        }
    }

    /// Boots, answers the configuration read and GetLocalListVersion.
    private static func booted(_ api: TestAPI, _ calls: CallReader, _ id: String, chargerVersion: Int) async throws -> OCPPCharger {
        let charger = try await OCPPCharger.connect(api, chargePointID: id)
        _ = try await charger.call("BootNotification", #"{"chargePointVendor":"ACME","chargePointModel":"X1"}"#)
        let read = try await calls.next(charger, pile: Int(id)!)
        #expect(read.action == "GetConfiguration")
        #expect(read.payload["key"] as? [String] == configurationKeys)
        try await charger.reply(read.id, configuration(profiles: "Core,LocalAuthListManagement,RemoteTrigger"))
        let version = try await calls.next(charger, pile: Int(id)!)
        #expect(version.action == "GetLocalListVersion")
        try await charger.reply(version.id, #"{"listVersion":\#(chargerVersion)}"#)
        return charger
    }

    @Test("a full list in chunks after boot, differential updates for a new card, a blocked one (then ClearCache) and an expired one, a full list again after a reconnect with another version; chargers without the profile are left alone")
    func localListSync() async throws {
        // The raw test charger does not answer pings: a run slowed down by a busy machine must not lose its
        // sockets to the missed-pongs rule.
        try await TestServer.run(configure: {
            $0.ocppLocalListSync = true
            $0.ocppOperationInterval = .milliseconds(100)
            $0.pingInterval = .seconds(300)
        }) { api in
            let calls = CallReader(api)
            let admin = try await api.adminToken()
            _ = try await api.driverToken("alice", capacity: "60")
            _ = try await api.driverToken("bob", capacity: "60")
            let driverTags: [String] = try await api.pool.query("SELECT id_tag FROM id_tags ORDER BY id_tag").map { try $0.decode("id_tag") }
            #expect(driverTags.count == 2)

            var charger = try await Self.booted(api, calls, "2", chargerVersion: 0)
            // SendLocalListMaxLength 1: Full with one tag, then a Differential with the other.
            let first = try await calls.next(charger, pile: 2)
            #expect(first.action == "SendLocalList" && first.payload["updateType"] as? String == "Full" && first.payload["listVersion"] as? Int == 1)
            try await charger.reply(first.id, #"{"status":"Accepted"}"#)
            let second = try await calls.next(charger, pile: 2)
            #expect(second.payload["updateType"] as? String == "Differential" && second.payload["listVersion"] as? Int == 2)
            try await charger.reply(second.id, #"{"status":"Accepted"}"#)
            #expect(Self.list(first.payload).merging(Self.list(second.payload)) { $1 } == Dictionary(uniqueKeysWithValues: driverTags.map { ($0, "Accepted") }))

            #expect(try await api.call(.post, "/admin/idtags", query: ["token": admin, "id_tag": "CARD-9", "username": "alice"]).code == 200)
            let added = try await calls.next(charger, pile: 2)
            #expect(added.payload["updateType"] as? String == "Differential" && added.payload["listVersion"] as? Int == 3)
            #expect(Self.list(added.payload) == ["CARD-9": "Accepted"])
            try await charger.reply(added.id, #"{"status":"Accepted"}"#)

            #expect(try await api.call(.post, "/admin/idtags", query: ["token": admin, "id_tag": "CARD-9", "username": "alice", "blocked": "true"]).code == 200)
            let blocked = try await calls.next(charger, pile: 2)
            #expect(blocked.payload["listVersion"] as? Int == 4 && Self.list(blocked.payload) == ["CARD-9": "Blocked"])
            try await charger.reply(blocked.id, #"{"status":"Accepted"}"#)
            let clear = try await calls.next(charger, pile: 2)
            #expect(clear.action == "ClearCache")
            try await charger.reply(clear.id, #"{"status":"Accepted"}"#)
            try await eventually("pile 2's list current at version 4") {
                try await api.pool.query("""
                    SELECT 1 AS one FROM ocpp_local_list_status WHERE pile_id = 2 AND list_version = 4 AND current AND failure IS NULL
                    """).first != nil
            }

            let shown = try await api.call(.get, "/admin/ocpp/local-lists", query: ["token": admin]).rows
            #expect(shown.map { "\($0["pile_id"] as? Int ?? 0):\($0["list_version"] as? Int ?? 0):\($0["current"] as? Bool ?? false)" } == ["2:4:true"])
            #expect(shown.first?["tag_count"] as? Int == 2 && shown.first?["failure"] is NSNull)

            // A card that expires: accepted until then, Expired after.
            // Far enough ahead that a busy machine sends the update before the card expires.
            let expiry = ISO8601DateFormatter().string(from: Date().addingTimeInterval(15))
            #expect(try await api.call(.post, "/admin/idtags", query: ["token": admin, "id_tag": "CARD-11", "username": "bob", "expires_at": expiry]).code == 200)
            let expiring = try await calls.next(charger, pile: 2)
            #expect(expiring.payload["listVersion"] as? Int == 5 && Self.list(expiring.payload) == ["CARD-11": "Accepted"])
            try await charger.reply(expiring.id, #"{"status":"Accepted"}"#)
            let expired = try await calls.next(charger, pile: 2)
            #expect(expired.payload["listVersion"] as? Int == 6 && Self.list(expired.payload) == ["CARD-11": "Expired"])
            try await charger.reply(expired.id, #"{"status":"Accepted"}"#)

            // A reconnect (the new socket replaces the old) where the charger holds another list: a full one
            // again, after its version.
            charger = try await Self.booted(api, calls, "2", chargerVersion: 9)
            let again = try await calls.next(charger, pile: 2)
            #expect(again.payload["updateType"] as? String == "Full" && again.payload["listVersion"] as? Int == 10)
            #expect(Self.list(again.payload).count == 1, "chunks of one")
            try await charger.reply(again.id, #"{"status":"VersionMismatch"}"#)
            try await eventually("the failure is visible") {
                try await api.pool.query("SELECT failure FROM ocpp_local_list_status WHERE pile_id = 2").first?
                    .decode("failure", as: String?.self) == "SendLocalList VersionMismatch"
            }

            // Without the profile: read, then left alone.
            let other = try await OCPPCharger.connect(api, chargePointID: "3")
            _ = try await other.call("BootNotification", #"{"chargePointVendor":"ACME","chargePointModel":"X1"}"#)
            let read = try await calls.next(other, pile: 3)
            #expect(read.action == "GetConfiguration")
            try await other.reply(read.id, Self.configuration(profiles: "Core,RemoteTrigger"))
            try await eventually("pile 3 recorded without the profile") {
                try await api.pool.query("SELECT 1 AS one FROM ocpp_local_lists WHERE pile_id = 3 AND supported = false").first != nil
            }
            #expect(try await api.call(.post, "/admin/idtags", query: ["token": admin, "id_tag": "CARD-10", "username": "bob"]).code == 200)
            // Pile 2 gets the new card (the sync after a failure waits a minute: made due now); pile 3 nothing.
            try await api.pool.execute("UPDATE ocpp_local_lists SET syncing_until = NULL WHERE pile_id = 2")
            let full = try await calls.next(charger, pile: 2)
            #expect(full.action == "SendLocalList" && full.payload["updateType"] as? String == "Full")
            _ = try await other.call("Heartbeat", "{}")
            let sentToThree: Int = try await api.pool.query("""
                SELECT count(*)::integer AS n FROM pile_commands WHERE pile_id = 3 AND instruction->'ocppCall'->>'action' <> 'GetConfiguration'
                """).first!.decode("n")
            #expect(sentToThree == 0)
        }
    }
}
