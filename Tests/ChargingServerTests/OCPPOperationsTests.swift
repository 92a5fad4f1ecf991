import Foundation
import Testing
import TestSupport

/// Firmware updates and diagnostics uploads as operations: a limit on chargers at once, each followed
/// through its status notifications, a silent one asked with TriggerMessage.
@Suite("OCPP 1.6J firmware and diagnostics operations")
struct OCPPOperationsTests {
    private static func states(_ api: TestAPI, _ admin: String, operation: Int) async throws -> [String] {
        try await api.call(.get, "/admin/ocpp/operations", query: ["token": admin, "id": "\(operation)"]).rows.map {
            "\($0["pile_id"] as? Int ?? 0):\($0["state"] as? String ?? "?"):\($0["status"] as? String ?? "-")"
        }
    }

    @Test("a firmware rollout over two chargers, one at a time: UpdateFirmware, statuses to Installed, a silent charger triggered, a refusal failed")
    func firmwareRollout() async throws {
        try await TestServer.run(configure: { $0.ocppOperationInterval = .milliseconds(100) }) { api in
            let admin = try await api.adminToken()
            let first = try await OCPPCharger.connect(api, chargePointID: "2")
            _ = try await first.call("BootNotification", #"{"chargePointVendor":"ACME","chargePointModel":"X1","firmwareVersion":"1.0"}"#)
            let second = try await OCPPCharger.connect(api, chargePointID: "3")
            _ = try await second.call("BootNotification", #"{"chargePointVendor":"ACME","chargePointModel":"X1","firmwareVersion":"1.0"}"#)

            let created = try await api.call(.post, "/admin/firmware/update", query: [
                "token": admin, "piles": "2,3", "location": "https://fw.example/x1-2.0.bin", "retrieve_at": "2026-12-01T08:00:00+08:00",
                "retries": "3", "max_concurrent": "1", "status_timeout": "1",
            ])
            #expect(created.code == 200, "\(created.object)")
            let operation = try #require((created.data as? [String: Any])?["operation_id"] as? Int)
            #expect((created.data as? [String: Any])?["piles"] as? [Int] == [2, 3])

            let update = try await first.expectCall()
            #expect(update.action == "UpdateFirmware")
            #expect(update.payload["location"] as? String == "https://fw.example/x1-2.0.bin")
            #expect(update.payload["retrieveDate"] as? String == "2026-12-01T00:00:00.000Z")
            #expect(update.payload["retries"] as? Int == 3)
            try await first.reply(update.id, "{}")
            try await eventually("pile 2 running, pile 3 waiting") {
                try await Self.states(api, admin, operation: operation) == ["2:running:-", "3:waiting:-"]
            }
            _ = try await first.call("FirmwareStatusNotification", #"{"status":"Downloading"}"#)
            #expect(try await Self.states(api, admin, operation: operation) == ["2:running:Downloading", "3:waiting:-"])

            // Silent for longer than status_timeout: asked for its status.
            let trigger = try await first.expectCall()
            #expect(trigger.action == "TriggerMessage")
            #expect(trigger.payload["requestedMessage"] as? String == "FirmwareStatusNotification")
            try await first.reply(trigger.id, #"{"status":"Accepted"}"#)
            _ = try await first.call("FirmwareStatusNotification", #"{"status":"Installing"}"#)
            _ = try await first.call("FirmwareStatusNotification", #"{"status":"Installed"}"#)

            // Only now the second charger's turn; it refuses with a CALLERROR.
            let secondUpdate = try await second.expectCall()
            #expect(secondUpdate.action == "UpdateFirmware")
            try await second.send(#"[4,"\#(secondUpdate.id)","NotSupported","no firmware management",{}]"#)
            try await eventually("the rollout finished") {
                try await Self.states(api, admin, operation: operation) == ["2:done:Installed", "3:failed:-"]
            }
            let reported: [String] = try await api.pool.query("""
                SELECT status FROM ocpp_status_reports WHERE pile_id = 2 AND kind = 'firmware' ORDER BY id
                """).map { try $0.decode("status") }
            #expect(reported == ["Downloading", "Installing", "Installed"])
            let view: String = try await api.pool.query("""
                SELECT string_agg(pile_id || ':' || state || ':' || coalesce(error, '-'), ',' ORDER BY pile_id) AS v
                FROM ocpp_operation_progress WHERE operation_id = \(operation)
                """).first!.decode("v")
            #expect(view == "2:done:-,3:failed:the charger refused UpdateFirmware")
        }
    }

    @Test("GetDiagnostics for a station's chargers: a fileName runs until Uploaded, none is done at once")
    func diagnostics() async throws {
        try await TestServer.run(configure: { $0.ocppOperationInterval = .milliseconds(100) }) { api in
            let admin = try await api.adminToken()
            let first = try await OCPPCharger.connect(api, chargePointID: "2")
            _ = try await first.call("BootNotification", #"{"chargePointVendor":"ACME","chargePointModel":"X1"}"#)
            let second = try await OCPPCharger.connect(api, chargePointID: "3")
            _ = try await second.call("BootNotification", #"{"chargePointVendor":"ACME","chargePointModel":"X1"}"#)
            let created = try await api.call(.post, "/admin/diagnostics/get", query: [
                "token": admin, "station": "1", "location": "ftp://diag.example/upload",
            ])
            #expect(created.code == 200, "\(created.object)")
            let operation = try #require((created.data as? [String: Any])?["operation_id"] as? Int)
            #expect((created.data as? [String: Any])?["piles"] as? [Int] == [2, 3], "the station's piles that speak OCPP")
            let call2 = try await first.expectCall()
            let call3 = try await second.expectCall()
            #expect(call2.action == "GetDiagnostics" && call3.action == "GetDiagnostics")
            #expect(call2.payload["location"] as? String == "ftp://diag.example/upload")
            // Pile 2 reports before its answer is in: the report counts, the answer does not undo it.
            _ = try await first.call("DiagnosticsStatusNotification", #"{"status":"Uploading"}"#)
            try await first.reply(call2.id, #"{"fileName":"cp2.zip"}"#)
            try await second.reply(call3.id, "{}")
            try await eventually("pile 2 uploads, pile 3 had nothing") {
                try await Self.states(api, admin, operation: operation) == ["2:running:Uploading", "3:done:-"]
            }
            let answer: String = try await api.pool.query("""
                SELECT answer->>'fileName' AS f FROM ocpp_operation_piles WHERE operation_id = \(operation) AND pile_id = 2
                """).first!.decode("f")
            #expect(answer == "cp2.zip")
            _ = try await first.call("DiagnosticsStatusNotification", #"{"status":"Uploaded"}"#)
            #expect(try await Self.states(api, admin, operation: operation) == ["2:done:Uploaded", "3:done:-"])
            let latest = try await api.call(.get, "/admin/ocpp/operations", query: ["token": admin, "kind": "diagnostics"])
            #expect(latest.rows.first?["operation_id"] as? Int == operation)
        }
    }

    @Test("bad operation requests are refused with -1 and create nothing")
    func refusals() async throws {
        try await TestServer.run { api in
            let admin = try await api.adminToken()
            let charger = try await OCPPCharger.connect(api, chargePointID: "2")
            _ = try await charger.call("BootNotification", #"{"chargePointVendor":"ACME","chargePointModel":"X1"}"#)
            let cases: [([String: String], String)] = [
                (["location": "https://fw.example/x"], "piles和station须指定其一"),
                (["piles": "2", "station": "1", "location": "https://fw.example/x"], "piles和station须指定其一"),
                (["piles": "2,x", "location": "https://fw.example/x"], "参数格式错误: piles"),
                (["piles": "2"], "缺少参数: location"),
                (["piles": "2", "location": "not a url"], "参数格式错误: location"),
                (["piles": "2", "location": "https://fw.example/x", "max_concurrent": "0"], "参数格式错误: max_concurrent"),
                (["piles": "2", "location": "https://fw.example/x", "retries": "-1"], "参数格式错误: retries"),
                (["piles": "2", "location": "https://fw.example/x", "retrieve_at": "soon"], "参数格式错误: retrieve_at"),
                (["piles": "2,4", "location": "https://fw.example/x"], "不是OCPP充电桩: 4"),
                (["piles": "99", "location": "https://fw.example/x"], "不是OCPP充电桩: 99"),
            ]
            for (parameters, message) in cases {
                let reply = try await api.call(.post, "/admin/firmware/update", query: parameters.merging(["token": admin]) { $1 })
                #expect(reply.code == -1 && reply.msg == message, "\(parameters): \(reply.object)")
            }
            let operations: Int = try await api.pool.query("SELECT count(*)::integer AS n FROM ocpp_operations").first!.decode("n")
            #expect(operations == 0)
            #expect(try await api.call(.get, "/admin/ocpp/operations", query: ["token": admin]).rows.isEmpty)
            #expect(try await api.call(.get, "/admin/ocpp/operations", query: ["token": admin, "kind": "bios"]).code == -1)
        }
    }
}
