import Foundation
import Testing
import TestSupport

/// OCPP 1.6J beyond Core: every central-system action of the six profiles and the security extension
/// through `/admin/ocpp/call`, and the chargers' calls of the security extension.
@Suite("OCPP 1.6J feature profiles")
struct OCPPProfilesTests {
    /// Each central-system action with a payload its schema accepts and an answer a charger might give.
    static let operatorCalls: [(action: String, payload: String, answer: String)] = [
        ("CancelReservation", #"{"reservationId":7}"#, #"{"status":"Rejected"}"#),
        ("ChangeAvailability", #"{"connectorId":1,"type":"Inoperative"}"#, #"{"status":"Scheduled"}"#),
        ("ChangeConfiguration", #"{"key":"HeartbeatInterval","value":"60"}"#, #"{"status":"RebootRequired"}"#),
        ("ClearCache", "{}", #"{"status":"Accepted"}"#),
        ("ClearChargingProfile", #"{"chargingProfilePurpose":"TxDefaultProfile"}"#, #"{"status":"Unknown"}"#),
        ("DataTransfer", #"{"vendorId":"com.example","messageId":"Hello","data":"x"}"#, #"{"status":"Accepted","data":"y"}"#),
        ("GetCompositeSchedule", #"{"connectorId":1,"duration":3600,"chargingRateUnit":"W"}"#,
         #"{"status":"Accepted","connectorId":1,"scheduleStart":"2026-12-01T00:00:00Z","chargingSchedule":{"chargingRateUnit":"W","chargingSchedulePeriod":[{"startPeriod":0,"limit":7400.5}]}}"#),
        ("GetConfiguration", #"{"key":["HeartbeatInterval"]}"#, #"{"configurationKey":[{"key":"HeartbeatInterval","readonly":false,"value":"300"}]}"#),
        ("GetDiagnostics", #"{"location":"https://diag.example/upload","retries":2,"startTime":"2026-12-01T00:00:00Z"}"#, #"{"fileName":"cp3.zip"}"#),
        ("GetLocalListVersion", "{}", #"{"listVersion":4}"#),
        ("RemoteStartTransaction", #"{"idTag":"CARD-1","connectorId":1}"#, #"{"status":"Rejected"}"#),
        ("RemoteStopTransaction", #"{"transactionId":99}"#, #"{"status":"Rejected"}"#),
        ("ReserveNow", #"{"connectorId":1,"expiryDate":"2026-12-01T10:00:00Z","idTag":"CARD-1","reservationId":7}"#, #"{"status":"Occupied"}"#),
        ("Reset", #"{"type":"Soft"}"#, #"{"status":"Accepted"}"#),
        ("SendLocalList", #"{"listVersion":5,"updateType":"Full","localAuthorizationList":[{"idTag":"CARD-1","idTagInfo":{"status":"Accepted"}}]}"#,
         #"{"status":"VersionMismatch"}"#),
        ("SetChargingProfile", #"{"connectorId":0,"csChargingProfiles":{"chargingProfileId":1,"stackLevel":0,"chargingProfilePurpose":"ChargePointMaxProfile","chargingProfileKind":"Absolute","chargingSchedule":{"chargingRateUnit":"A","chargingSchedulePeriod":[{"startPeriod":0,"limit":16}]}}}"#,
         #"{"status":"NotSupported"}"#),
        ("TriggerMessage", #"{"requestedMessage":"FirmwareStatusNotification"}"#, #"{"status":"Accepted"}"#),
        ("UnlockConnector", #"{"connectorId":1}"#, #"{"status":"NotSupported"}"#),
        ("UpdateFirmware", #"{"location":"https://fw.example/cp-2.1.bin","retrieveDate":"2026-12-01T00:00:00Z","retries":3}"#, "{}"),
        ("CertificateSigned", #"{"certificateChain":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"}"#, #"{"status":"Rejected"}"#),
        ("DeleteCertificate", #"{"certificateHashData":{"hashAlgorithm":"SHA256","issuerNameHash":"ab","issuerKeyHash":"cd","serialNumber":"01"}}"#,
         #"{"status":"NotFound"}"#),
        ("ExtendedTriggerMessage", #"{"requestedMessage":"SignChargePointCertificate"}"#, #"{"status":"Accepted"}"#),
        ("GetInstalledCertificateIds", #"{"certificateType":"CentralSystemRootCertificate"}"#,
         #"{"certificateHashData":[{"hashAlgorithm":"SHA256","issuerNameHash":"ab","issuerKeyHash":"cd","serialNumber":"01"}],"status":"Accepted"}"#),
        ("GetLog", #"{"log":{"remoteLocation":"https://logs.example/up"},"logType":"SecurityLog","requestId":12}"#, #"{"status":"Accepted","filename":"sec.log"}"#),
        ("InstallCertificate", #"{"certificateType":"ManufacturerRootCertificate","certificate":"PEM"}"#, #"{"status":"Failed"}"#),
        ("SignedUpdateFirmware", #"{"requestId":13,"firmware":{"location":"https://fw.example/s.bin","retrieveDateTime":"2026-12-01T00:00:00Z","signingCertificate":"PEM","signature":"c2ln"}}"#,
         #"{"status":"InvalidCertificate"}"#),
    ]

    private static func json(_ text: String) throws -> NSDictionary {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? NSDictionary)
    }

    @Test("/admin/ocpp/call sends every central-system action of the six profiles and the security extension and answers the charger's CALLRESULT")
    func everyOperatorAction() async throws {
        // The charger here is the test itself: on a busy machine its answer may take longer than the suite's 2 s.
        try await TestServer.run(configure: { $0.commandTimeout = .seconds(20) }) { api in
            let admin = try await api.adminToken()
            let charger = try await OCPPCharger.connect(api, chargePointID: "2")
            _ = try await charger.call("BootNotification", #"{"chargePointVendor":"ACME","chargePointModel":"X1"}"#)
            #expect(Set(Self.operatorCalls.map(\.action)).count == 26)
            for (action, payload, answer) in Self.operatorCalls {
                let body = #"{"token":"\#(admin)","id":2,"action":"\#(action)","payload":\#(payload)}"#
                let operatorCall = Task { try await api.call(.post, "/admin/ocpp/call", body: .json(body)) }
                let call = try await charger.expectCall()
                #expect(call.action == action)
                #expect(NSDictionary(dictionary: call.payload) == (try Self.json(payload)), "\(action)")
                try await charger.reply(call.id, answer)
                let reply = try await operatorCall.value
                #expect(reply.code == 200, "\(action): \(reply.object)")
                #expect((reply.data as? NSDictionary) == (try Self.json(answer)), "\(action)")
            }
            // An answer that breaks its schema is not passed on.
            let badAnswer = Task {
                try await api.call(.post, "/admin/ocpp/call", body: .json(#"{"token":"\#(admin)","id":2,"action":"ReserveNow","payload":{"connectorId":1,"expiryDate":"2026-12-01T10:00:00Z","idTag":"A","reservationId":1}}"#))
            }
            let call = try await charger.expectCall()
            try await charger.reply(call.id, #"{"status":"Maybe"}"#)
            let refused = try await badAnswer.value
            #expect(refused.code == -1 && refused.msg == "充电桩返回错误")
            #expect((refused.data as? [String: Any])?["invalidAnswer"] as? String
                == #"status: "Maybe" is not one of Accepted, Faulted, Occupied, Rejected, Unavailable"#)
        }
    }

    @Test("/admin/ocpp/call refuses what is not a central-system action or breaks its schema, and sends nothing")
    func operatorCallRefusals() async throws {
        try await TestServer.run { api in
            let admin = try await api.adminToken()
            let charger = try await OCPPCharger.connect(api, chargePointID: "2")
            _ = try await charger.call("BootNotification", #"{"chargePointVendor":"ACME","chargePointModel":"X1"}"#)
            let before: Int = try await api.pool.query("SELECT count(*)::integer AS n FROM pile_commands").first!.decode("n")
            let cases: [(action: String, payload: String, message: String)] = [
                ("Dance", "{}", "参数格式错误: action"),
                ("SecurityEventNotification", #"{"type":"x","timestamp":"2026-12-01T00:00:00Z"}"#, "参数格式错误: action"),
                ("Heartbeat", "{}", "参数格式错误: action"),
                ("ReserveNow", #"{"connectorId":1,"idTag":"A","reservationId":1}"#, "payload不符合OCPP 1.6: expiryDate: missing required field"),
                ("SendLocalList", #"{"listVersion":"1","updateType":"Full"}"#, "payload不符合OCPP 1.6: listVersion: expected integer"),
                ("UpdateFirmware", #"{"location":"https://fw.example/x","retrieveDate":"tomorrow"}"#,
                 #"payload不符合OCPP 1.6: retrieveDate: "tomorrow" is not an RFC 3339 date-time"#),
                ("GetLog", #"{"logType":"SecurityLog","requestId":1,"log":{"remoteLocation":"x"},"extra":1}"#, "payload不符合OCPP 1.6: extra: unknown field"),
                ("InstallCertificate", #"{"certificateType":"V2GRootCertificate","certificate":"x"}"#, "payload不符合OCPP 1.6: certificateType: \"V2GRootCertificate\" is not one of CentralSystemRootCertificate, ManufacturerRootCertificate"),
            ]
            for (action, payload, message) in cases {
                let reply = try await api.call(.post, "/admin/ocpp/call", body: .json(#"{"token":"\#(admin)","id":2,"action":"\#(action)","payload":\#(payload)}"#))
                #expect(reply.code == -1, "\(action)")
                #expect(reply.msg == message, "\(action)")
            }
            let after: Int = try await api.pool.query("SELECT count(*)::integer AS n FROM pile_commands").first!.decode("n")
            #expect(after == before, "nothing was queued for the pile")
            // The charger got nothing: its next message is the answer to its own Heartbeat.
            _ = try await charger.call("Heartbeat", "{}")
        }
    }

    @Test("SecurityEventNotification, LogStatusNotification, SignedFirmwareStatusNotification and SignCertificate are acknowledged and stored; security events reach the operator")
    func securityExtensionFromChargers() async throws {
        try await TestServer.run { api in
            let admin = try await api.adminToken()
            let charger = try await OCPPCharger.connect(api, chargePointID: "3")
            _ = try await charger.call("BootNotification", #"{"chargePointVendor":"ACME","chargePointModel":"X1"}"#)
            #expect(try await charger.call("SecurityEventNotification",
                                           #"{"type":"TamperDetectionActivated","timestamp":"2026-12-01T08:00:00Z","techInfo":"lid open"}"#).isEmpty)
            #expect(try await charger.call("SecurityEventNotification", #"{"type":"StartupOfTheDevice","timestamp":"2026-12-01T08:01:00Z"}"#).isEmpty)
            #expect(try await charger.call("LogStatusNotification", #"{"status":"Uploading","requestId":12}"#).isEmpty)
            #expect(try await charger.call("SignedFirmwareStatusNotification", #"{"status":"InvalidSignature","requestId":13}"#).isEmpty)
            #expect(try await charger.call("FirmwareStatusNotification", #"{"status":"Downloading"}"#).isEmpty)
            #expect(try await charger.call("DiagnosticsStatusNotification", #"{"status":"Uploaded"}"#).isEmpty)
            let signed = try await charger.call("SignCertificate", #"{"csr":"-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----"}"#)
            #expect(signed["status"] as? String == "Rejected", "no CA is configured")

            let events = try await api.call(.get, "/admin/ocpp/security-events", query: ["token": admin, "pile_id": "3"])
            #expect(events.code == 200)
            #expect(events.rows.map { $0["type"] as? String } == ["StartupOfTheDevice", "TamperDetectionActivated"])
            #expect(events.rows.last?["tech_info"] as? String == "lid open")
            #expect(events.rows.first?["tech_info"] is NSNull)
            #expect(events.rows.last?["charger_timestamp"] as? String == "2026-12-01T16:00:00.000+08:00")
            #expect(try await api.call(.get, "/admin/ocpp/security-events", query: ["token": admin, "pile_id": "2"]).rows.isEmpty)
            #expect(try await api.call(.get, "/admin/ocpp/security-events", query: ["token": admin, "limit": "0"]).code == -1)

            let reports: [String] = try await api.pool.query("""
                SELECT kind || ':' || status || ':' || coalesce(request_id::text, '-') AS report FROM ocpp_status_reports WHERE pile_id = 3 ORDER BY id
                """).map { try $0.decode("report") }
            #expect(reports == ["log:Uploading:12", "signed_firmware:InvalidSignature:13", "firmware:Downloading:-", "diagnostics:Uploaded:-"])
            let pile: String = try await api.pool.query("""
                SELECT concat_ws('|', firmware_status, firmware_request_id, diagnostics_status, log_status, log_request_id) AS pile
                FROM pile_protocols WHERE pile_id = 3
                """).first!.decode("pile")
            #expect(pile == "Downloading|Uploaded|Uploading|12")
            let requests: Int = try await api.pool.query("SELECT count(*)::integer AS n FROM ocpp_certificate_requests WHERE pile_id = 3 AND answer = 'Rejected'")
                .first!.decode("n")
            #expect(requests == 1)
            let visible: Int = try await api.pool.query("SELECT count(*)::integer AS n FROM recent_security_events WHERE ocpp_id = '3'").first!.decode("n")
            #expect(visible == 2)

            // Bad ones are refused with their CALLERROR and change nothing.
            func reportCounts() async throws -> String {
                try await api.pool.query("SELECT (SELECT count(*) FROM ocpp_security_events) || '/' || (SELECT count(*) FROM ocpp_status_reports) AS n")
                    .first!.decode("n")
            }
            let before = try await api.databaseFingerprint() + (try await reportCounts())
            for (text, code) in [
                (#"[2,"s1","SecurityEventNotification",{"type":"x"}]"#, "ProtocolError"),
                (#"[2,"s2","SecurityEventNotification",{"type":1,"timestamp":"2026-12-01T08:00:00Z","x":1}]"#, "FormationViolation"),
                (#"[2,"s3","LogStatusNotification",{"status":"Done"}]"#, "FormationViolation"),
                (#"[2,"s4","SignedFirmwareStatusNotification",{"status":"Installed","requestId":"1"}]"#, "TypeConstraintViolation"),
                (#"[2,"s5","ReserveNow",{}]"#, "NotSupported"),
                (#"[2,"s6","CertificateSigned",{"certificateChain":"x"}]"#, "NotSupported"),
            ] {
                try await charger.send(text)
                let answer = try await charger.nextMessage()
                #expect(answer.first as? Int == 4 && answer[2] as? String == code, "\(text): \(answer)")
            }
            #expect(try await api.databaseFingerprint() + (try await reportCounts()) == before)
        }
    }
}
