import Foundation
import OCPP16

/// Realistic CALLs of each charge point action, as a charge point (e.g. one built on mobilityhouse/ocpp)
/// sends them.
enum ChargePointExamples {
    static func date(_ text: String) -> Date {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)!
    }

    static let all: [(frame: String, call: ChargePointCall)] = [
        (
            #"[2,"19223201","BootNotification",{"chargePointVendor":"Alfen BV","chargePointModel":"ICU Eve Mini","chargePointSerialNumber":"ACE0123456","chargeBoxSerialNumber":"ACE0123456","firmwareVersion":"4.12.1-2990","iccid":"8931440300000000001","imsi":"204043000000001","meterType":"Eastron SDM630","meterSerialNumber":"SDM-0001"}]"#,
            .bootNotification(BootNotificationRequest(
                chargePointVendor: "Alfen BV", chargePointModel: "ICU Eve Mini", chargePointSerialNumber: "ACE0123456",
                chargeBoxSerialNumber: "ACE0123456", firmwareVersion: "4.12.1-2990", iccid: "8931440300000000001",
                imsi: "204043000000001", meterType: "Eastron SDM630", meterSerialNumber: "SDM-0001"
            ))
        ),
        (#"[2,"hb-1","Heartbeat",{}]"#, .heartbeat(HeartbeatRequest())),
        (
            #"[2,"a7b1c2d3-0000-4000-8000-000000000001","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Preparing","timestamp":"2026-11-30T20:00:00.000Z","info":"cable plugged","vendorId":"com.alfen","vendorErrorCode":"0"}]"#,
            .statusNotification(StatusNotificationRequest(
                connectorId: 1, errorCode: .noError, status: .preparing, info: "cable plugged",
                timestamp: date("2026-11-30T20:00:00.000Z"), vendorId: "com.alfen", vendorErrorCode: "0"
            ))
        ),
        (#"[2,"4","Authorize",{"idTag":"04E2A1B2C3D480"}]"#, .authorize(AuthorizeRequest(idTag: "04E2A1B2C3D480"))),
        (
            #"[2,"5","StartTransaction",{"connectorId":1,"idTag":"04E2A1B2C3D480","meterStart":1250400,"reservationId":7,"timestamp":"2026-11-30T20:01:02.345Z"}]"#,
            .startTransaction(StartTransactionRequest(
                connectorId: 1, idTag: "04E2A1B2C3D480", meterStart: 1_250_400, timestamp: date("2026-11-30T20:01:02.345Z"),
                reservationId: 7
            ))
        ),
        (
            #"[2,"6","MeterValues",{"connectorId":1,"transactionId":1001,"meterValue":[{"timestamp":"2026-11-30T20:15:00.000Z","sampledValue":[{"value":"1253.9","context":"Sample.Periodic","format":"Raw","measurand":"Energy.Active.Import.Register","location":"Outlet","unit":"kWh"},{"value":"16.02","measurand":"Current.Import","phase":"L1","unit":"A"},{"value":"231.4","measurand":"Voltage","phase":"L1-N","unit":"V"},{"value":"49.98","measurand":"Frequency","unit":"Hertz"}]}]}]"#,
            .meterValues(MeterValuesRequest(
                connectorId: 1,
                meterValue: [MeterValue(timestamp: date("2026-11-30T20:15:00.000Z"), sampledValue: [
                    SampledValue(value: "1253.9", context: .samplePeriodic, format: .raw, measurand: .energyActiveImportRegister, location: .outlet, unit: .kWh),
                    SampledValue(value: "16.02", measurand: .currentImport, phase: .l1, unit: .a),
                    SampledValue(value: "231.4", measurand: .voltage, phase: .l1N, unit: .v),
                    SampledValue(value: "49.98", measurand: .frequency, unit: .hertz),
                ])],
                transactionId: 1001
            ))
        ),
        (
            #"[2,"7","StopTransaction",{"transactionId":1001,"idTag":"04E2A1B2C3D480","meterStop":1262100,"timestamp":"2026-11-30T21:00:00.000Z","reason":"EVDisconnected","transactionData":[{"timestamp":"2026-11-30T20:01:02.345Z","sampledValue":[{"value":"1250400","context":"Transaction.Begin"}]},{"timestamp":"2026-11-30T21:00:00.000Z","sampledValue":[{"value":"1262100","context":"Transaction.End","unit":"Wh"}]}]}]"#,
            .stopTransaction(StopTransactionRequest(
                transactionId: 1001, meterStop: 1_262_100, timestamp: date("2026-11-30T21:00:00.000Z"), idTag: "04E2A1B2C3D480",
                reason: .evDisconnected,
                transactionData: [
                    MeterValue(timestamp: date("2026-11-30T20:01:02.345Z"), sampledValue: [SampledValue(value: "1250400", context: .transactionBegin)]),
                    MeterValue(timestamp: date("2026-11-30T21:00:00.000Z"), sampledValue: [SampledValue(value: "1262100", context: .transactionEnd, unit: .wh)]),
                ]
            ))
        ),
        (
            #"[2,"8","DataTransfer",{"vendorId":"com.alfen","messageId":"SetDisplay","data":"{\"line\":\"Hello\"}"}]"#,
            .dataTransfer(DataTransferRequest(vendorId: "com.alfen", messageId: "SetDisplay", data: #"{"line":"Hello"}"#))
        ),
        (
            #"[2,"9","DiagnosticsStatusNotification",{"status":"Uploaded"}]"#,
            .diagnosticsStatusNotification(DiagnosticsStatusNotificationRequest(status: .uploaded))
        ),
        (
            #"[2,"10","FirmwareStatusNotification",{"status":"Installing"}]"#,
            .firmwareStatusNotification(FirmwareStatusNotificationRequest(status: .installing))
        ),
        (
            #"[2,"11","SecurityEventNotification",{"type":"FirmwareUpdated","timestamp":"2026-11-30T20:00:00.000Z","techInfo":"v2.1.4"}]"#,
            .securityEventNotification(SecurityEventNotificationRequest(
                type: "FirmwareUpdated", timestamp: date("2026-11-30T20:00:00.000Z"), techInfo: "v2.1.4"))
        ),
        (
            #"[2,"12","LogStatusNotification",{"status":"Uploading","requestId":7}]"#,
            .logStatusNotification(LogStatusNotificationRequest(status: .uploading, requestId: 7))
        ),
        (
            #"[2,"13","SignedFirmwareStatusNotification",{"status":"InvalidSignature","requestId":8}]"#,
            .signedFirmwareStatusNotification(SignedFirmwareStatusNotificationRequest(status: .invalidSignature, requestId: 8))
        ),
        (
            #"[2,"14","SignCertificate",{"csr":"-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----"}]"#,
            .signCertificate(SignCertificateRequest(csr: "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----"))
        ),
    ]
}
