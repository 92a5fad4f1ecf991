import Testing
import OCPP16

/// Payloads and the code mobilityhouse/ocpp 2.1.0's `validate_payload` gives each for OCPP 1.6 (with its
/// 2.0 spelling "FormatViolation" read as 1.6's "FormationViolation"); nil where it accepts the payload.
/// The expectations were checked against that library; the payloads are our own.
struct SchemaCase: CustomTestStringConvertible, Sendable {
    enum Kind: Sendable { case request, response }

    let name: String
    let action: OCPPAction
    let kind: Kind
    let payload: String
    let expected: OCPPErrorCode?

    init(_ name: String, _ action: OCPPAction, _ kind: Kind, _ payload: String, _ expected: OCPPErrorCode?) {
        self.name = name
        self.action = action
        self.kind = kind
        self.payload = payload
        self.expected = expected
    }

    var testDescription: String { name }

    static let all: [SchemaCase] = [
        SchemaCase("boot missing model", .bootNotification, .request, #"{"chargePointVendor":"Alfen BV"}"#, .protocolError),
        SchemaCase("boot vendor too long", .bootNotification, .request, #"{"chargePointVendor":"ABCDEFGHIJKLMNOPQRSTU","chargePointModel":"ICU"}"#, .typeConstraintViolation),
        SchemaCase("boot vendor 20 ok", .bootNotification, .request, #"{"chargePointVendor":"ABCDEFGHIJKLMNOPQRST","chargePointModel":"ICU"}"#, nil),
        SchemaCase("boot unknown field", .bootNotification, .request, #"{"chargePointVendor":"A","chargePointModel":"B","colour":"red"}"#, .formationViolation),
        SchemaCase("boot vendor number", .bootNotification, .request, #"{"chargePointVendor":7,"chargePointModel":"B"}"#, .typeConstraintViolation),
        SchemaCase("boot unknown field and missing", .bootNotification, .request, #"{"chargePointVendor":"A","colour":"red"}"#, .formationViolation),
        SchemaCase("boot type error before unknown", .bootNotification, .request, #"{"chargePointVendor":"A","chargePointModel":1,"colour":"red"}"#, .typeConstraintViolation),
        SchemaCase("status connectorId string", .statusNotification, .request, #"{"connectorId":"1","errorCode":"NoError","status":"Available"}"#, .typeConstraintViolation),
        SchemaCase("status connectorId 1.0", .statusNotification, .request, #"{"connectorId":1.0,"errorCode":"NoError","status":"Available"}"#, .typeConstraintViolation),
        SchemaCase("status connectorId 1.5", .statusNotification, .request, #"{"connectorId":1.5,"errorCode":"NoError","status":"Available"}"#, .typeConstraintViolation),
        SchemaCase("status connectorId 1e0", .statusNotification, .request, #"{"connectorId":1e0,"errorCode":"NoError","status":"Available"}"#, .typeConstraintViolation),
        SchemaCase("status connectorId true", .statusNotification, .request, #"{"connectorId":true,"errorCode":"NoError","status":"Available"}"#, .typeConstraintViolation),
        SchemaCase("status bad enum", .statusNotification, .request, #"{"connectorId":1,"errorCode":"NoError","status":"Sleeping"}"#, .formationViolation),
        SchemaCase("status enum wrong type", .statusNotification, .request, #"{"connectorId":1,"errorCode":"NoError","status":3}"#, .typeConstraintViolation),
        SchemaCase("status missing status", .statusNotification, .request, #"{"connectorId":1,"errorCode":"NoError"}"#, .protocolError),
        SchemaCase("status type error beats missing", .statusNotification, .request, #"{"connectorId":"1"}"#, .typeConstraintViolation),
        SchemaCase("status info too long", .statusNotification, .request, #"{"connectorId":1,"errorCode":"NoError","status":"Available","info":"\#(String(repeating: "x", count: 51))"}"#, .typeConstraintViolation),
        SchemaCase("status null timestamp", .statusNotification, .request, #"{"connectorId":1,"errorCode":"NoError","status":"Available","timestamp":null}"#, .typeConstraintViolation),
        SchemaCase("authorize idTag 21", .authorize, .request, #"{"idTag":"\#(String(repeating: "A", count: 21))"}"#, .typeConstraintViolation),
        SchemaCase("authorize idTag unicode 20", .authorize, .request, #"{"idTag":"\#(String(repeating: "é", count: 20))"}"#, nil),
        SchemaCase("authorize empty", .authorize, .request, "{}", .protocolError),
        SchemaCase("start meterStart double", .startTransaction, .request, #"{"connectorId":1,"idTag":"T","meterStart":10.5,"timestamp":"2026-11-30T20:00:00Z"}"#, .typeConstraintViolation),
        SchemaCase("stop reason bad", .stopTransaction, .request, #"{"transactionId":1,"meterStop":5,"timestamp":"2026-11-30T20:00:00Z","reason":"Bored"}"#, .formationViolation),
        SchemaCase("stop txdata hertz", .stopTransaction, .request, #"{"transactionId":1,"meterStop":5,"timestamp":"2026-11-30T20:00:00Z","transactionData":[{"timestamp":"2026-11-30T20:00:00Z","sampledValue":[{"value":"50","unit":"Hertz"}]}]}"#, .formationViolation),
        SchemaCase("stop txdata empty sampled ok", .stopTransaction, .request, #"{"transactionId":1,"meterStop":5,"timestamp":"2026-11-30T20:00:00Z","transactionData":[{"timestamp":"2026-11-30T20:00:00Z","sampledValue":[]}]}"#, nil),
        SchemaCase("stop txdata missing value", .stopTransaction, .request, #"{"transactionId":1,"meterStop":5,"timestamp":"2026-11-30T20:00:00Z","transactionData":[{"timestamp":"2026-11-30T20:00:00Z","sampledValue":[{"unit":"Wh"}]}]}"#, .protocolError),
        SchemaCase("meter empty meterValue", .meterValues, .request, #"{"connectorId":1,"meterValue":[]}"#, .formationViolation),
        SchemaCase("meter empty sampledValue", .meterValues, .request, #"{"connectorId":1,"meterValue":[{"timestamp":"2026-11-30T20:00:00Z","sampledValue":[]}]}"#, .formationViolation),
        SchemaCase("meter hertz ok", .meterValues, .request, #"{"connectorId":1,"meterValue":[{"timestamp":"2026-11-30T20:00:00Z","sampledValue":[{"value":"50","unit":"Hertz","measurand":"Frequency"}]}]}"#, nil),
        SchemaCase("meter bad unit", .meterValues, .request, #"{"connectorId":1,"meterValue":[{"timestamp":"2026-11-30T20:00:00Z","sampledValue":[{"value":"5","unit":"MWh"}]}]}"#, .formationViolation),
        SchemaCase("meter value number", .meterValues, .request, #"{"connectorId":1,"meterValue":[{"timestamp":"2026-11-30T20:00:00Z","sampledValue":[{"value":5}]}]}"#, .typeConstraintViolation),
        SchemaCase("meter meterValue object", .meterValues, .request, #"{"connectorId":1,"meterValue":{}}"#, .typeConstraintViolation),
        SchemaCase("meter nested unknown field", .meterValues, .request, #"{"connectorId":1,"meterValue":[{"timestamp":"2026-11-30T20:00:00Z","sampledValue":[{"value":"5","extra":1}]}]}"#, .formationViolation),
        SchemaCase("datatransfer data object", .dataTransfer, .request, #"{"vendorId":"com.example","data":{"a":1}}"#, .typeConstraintViolation),
        SchemaCase("diag bad status", .diagnosticsStatusNotification, .request, #"{"status":"Done"}"#, .formationViolation),
        SchemaCase("firmware missing", .firmwareStatusNotification, .request, "{}", .protocolError),
        SchemaCase("heartbeat extra", .heartbeat, .request, #"{"x":1}"#, .formationViolation),
        SchemaCase("boot resp interval string", .bootNotification, .response, #"{"status":"Accepted","currentTime":"2026-11-30T20:00:00Z","interval":"300"}"#, .typeConstraintViolation),
        SchemaCase("remote start limit 21.4 ok", .remoteStartTransaction, .request, #"{"idTag":"T","chargingProfile":{"chargingProfileId":1,"stackLevel":0,"chargingProfilePurpose":"TxProfile","chargingProfileKind":"Relative","chargingSchedule":{"chargingRateUnit":"A","chargingSchedulePeriod":[{"startPeriod":0,"limit":21.4}]}}}"#, nil),
        SchemaCase("remote start limit 4.11", .remoteStartTransaction, .request, #"{"idTag":"T","chargingProfile":{"chargingProfileId":1,"stackLevel":0,"chargingProfilePurpose":"TxProfile","chargingProfileKind":"Relative","chargingSchedule":{"chargingRateUnit":"A","chargingSchedulePeriod":[{"startPeriod":0,"limit":4.11}]}}}"#, .formationViolation),
        SchemaCase("remote start limit int ok", .remoteStartTransaction, .request, #"{"idTag":"T","chargingProfile":{"chargingProfileId":1,"stackLevel":0,"chargingProfilePurpose":"TxProfile","chargingProfileKind":"Relative","chargingSchedule":{"chargingRateUnit":"W","chargingSchedulePeriod":[{"startPeriod":0,"limit":11000}]}}}"#, nil),
        SchemaCase("remote start profile missing schedule", .remoteStartTransaction, .request, #"{"idTag":"T","chargingProfile":{"chargingProfileId":1,"stackLevel":0,"chargingProfilePurpose":"TxProfile","chargingProfileKind":"Relative"}}"#, .protocolError),
        SchemaCase("change availability resp bad", .changeAvailability, .response, #"{"status":"Maybe"}"#, .formationViolation),
        SchemaCase("get configuration resp readonly string", .getConfiguration, .response, #"{"configurationKey":[{"key":"HeartbeatInterval","readonly":"false","value":"300"}]}"#, .typeConstraintViolation),
        SchemaCase("get configuration resp value 501", .getConfiguration, .response, #"{"configurationKey":[{"key":"K","readonly":false,"value":"\#(String(repeating: "v", count: 501))"}]}"#, .typeConstraintViolation),
        SchemaCase("get configuration resp missing readonly", .getConfiguration, .response, #"{"configurationKey":[{"key":"K"}]}"#, .protocolError),
        SchemaCase("trigger resp ok", .triggerMessage, .response, #"{"status":"NotImplemented"}"#, nil),
        SchemaCase("unlock resp extra", .unlockConnector, .response, #"{"status":"Unlocked","extra":true}"#, .formationViolation),
        SchemaCase("start resp missing tx", .startTransaction, .response, #"{"idTagInfo":{"status":"Accepted"}}"#, .protocolError),
        SchemaCase("authorize resp parent too long", .authorize, .response, #"{"idTagInfo":{"status":"Accepted","parentIdTag":"\#(String(repeating: "P", count: 21))"}}"#, .typeConstraintViolation),
        SchemaCase("stop resp empty ok", .stopTransaction, .response, "{}", nil),
        SchemaCase("reset resp missing", .reset, .response, "{}", .protocolError),
        SchemaCase("payload array", .heartbeat, .request, "[]", .typeConstraintViolation),
        // The other profiles and the security extension (whose schemas mostly check unknown fields first).
        SchemaCase("reserve missing idTag", .reserveNow, .request, #"{"connectorId":1,"expiryDate":"2026-11-30T20:00:00Z","reservationId":1}"#, .protocolError),
        SchemaCase("reserve idTag 21", .reserveNow, .request, #"{"connectorId":1,"expiryDate":"2026-11-30T20:00:00Z","idTag":"AAAAAAAAAAAAAAAAAAAAA","reservationId":1}"#, .typeConstraintViolation),
        SchemaCase("reserve ok", .reserveNow, .request, #"{"connectorId":0,"expiryDate":"2026-11-30T20:00:00Z","idTag":"T","reservationId":1}"#, nil),
        SchemaCase("reserve resp bad", .reserveNow, .response, #"{"status":"Busy"}"#, .formationViolation),
        SchemaCase("cancel reservation string", .cancelReservation, .request, #"{"reservationId":"1"}"#, .typeConstraintViolation),
        SchemaCase("send list missing updateType", .sendLocalList, .request, #"{"listVersion":1}"#, .protocolError),
        SchemaCase("send list bad updateType", .sendLocalList, .request, #"{"listVersion":1,"updateType":"Partial"}"#, .formationViolation),
        SchemaCase("send list entry missing idTag", .sendLocalList, .request, #"{"listVersion":1,"updateType":"Full","localAuthorizationList":[{"idTagInfo":{"status":"Accepted"}}]}"#, .protocolError),
        SchemaCase("send list entry bad status", .sendLocalList, .request, #"{"listVersion":1,"updateType":"Full","localAuthorizationList":[{"idTag":"A","idTagInfo":{"status":"Maybe"}}]}"#, .formationViolation),
        SchemaCase("send list resp ok", .sendLocalList, .response, #"{"status":"VersionMismatch"}"#, nil),
        SchemaCase("local list version extra", .getLocalListVersion, .request, #"{"x":1}"#, .formationViolation),
        SchemaCase("local list version resp missing", .getLocalListVersion, .response, #"{}"#, .protocolError),
        SchemaCase("diagnostics missing location", .getDiagnostics, .request, #"{"retries":1}"#, .protocolError),
        SchemaCase("diagnostics resp name 256", .getDiagnostics, .response, #"{"fileName":"\#(String(repeating: "x", count: 256))"}"#, .typeConstraintViolation),
        SchemaCase("firmware missing retrieveDate", .updateFirmware, .request, #"{"location":"https://fw.example/x.bin"}"#, .protocolError),
        SchemaCase("firmware retries string", .updateFirmware, .request, #"{"location":"https://fw.example/x.bin","retrieveDate":"2026-11-30T20:00:00Z","retries":"3"}"#, .typeConstraintViolation),
        SchemaCase("firmware resp extra", .updateFirmware, .response, #"{"status":"Accepted"}"#, .formationViolation),
        SchemaCase("set profile missing profiles", .setChargingProfile, .request, #"{"connectorId":1}"#, .protocolError),
        SchemaCase("set profile limit 4.11", .setChargingProfile, .request, #"{"connectorId":1,"csChargingProfiles":{"chargingProfileId":1,"stackLevel":0,"chargingProfilePurpose":"TxDefaultProfile","chargingProfileKind":"Absolute","chargingSchedule":{"chargingRateUnit":"W","chargingSchedulePeriod":[{"startPeriod":0,"limit":4.11}]}}}"#, .formationViolation),
        SchemaCase("clear profile empty ok", .clearChargingProfile, .request, #"{}"#, nil),
        SchemaCase("clear profile bad purpose", .clearChargingProfile, .request, #"{"chargingProfilePurpose":"Everything"}"#, .formationViolation),
        SchemaCase("composite missing duration", .getCompositeSchedule, .request, #"{"connectorId":1}"#, .protocolError),
        SchemaCase("composite resp schedule missing unit", .getCompositeSchedule, .response, #"{"status":"Accepted","chargingSchedule":{"chargingSchedulePeriod":[]}}"#, .protocolError),
        SchemaCase("cert signed too long", .certificateSigned, .request, #"{"certificateChain":"\#(String(repeating: "x", count: 10001))"}"#, .typeConstraintViolation),
        SchemaCase("cert signed extra and type", .certificateSigned, .request, #"{"certificateChain":1,"x":1}"#, .typeConstraintViolation),
        SchemaCase("delete cert missing serial", .deleteCertificate, .request, #"{"certificateHashData":{"hashAlgorithm":"SHA256","issuerNameHash":"a","issuerKeyHash":"b"}}"#, .protocolError),
        SchemaCase("delete cert bad algorithm", .deleteCertificate, .request, #"{"certificateHashData":{"hashAlgorithm":"MD5","issuerNameHash":"a","issuerKeyHash":"b","serialNumber":"1"}}"#, .formationViolation),
        SchemaCase("delete cert nested extra and type", .deleteCertificate, .request, #"{"certificateHashData":{"hashAlgorithm":"SHA256","issuerNameHash":1,"issuerKeyHash":"b","serialNumber":"1","x":2}}"#, .formationViolation),
        SchemaCase("ext trigger sign ok", .extendedTriggerMessage, .request, #"{"requestedMessage":"SignChargePointCertificate"}"#, nil),
        SchemaCase("ext trigger diag", .extendedTriggerMessage, .request, #"{"requestedMessage":"DiagnosticsStatusNotification"}"#, .formationViolation),
        SchemaCase("installed ids resp empty list", .getInstalledCertificateIds, .response, #"{"status":"Accepted","certificateHashData":[]}"#, .formationViolation),
        SchemaCase("installed ids missing type", .getInstalledCertificateIds, .request, #"{}"#, .protocolError),
        SchemaCase("get log missing log", .getLog, .request, #"{"logType":"SecurityLog","requestId":1}"#, .protocolError),
        SchemaCase("get log location 513", .getLog, .request, #"{"logType":"SecurityLog","requestId":1,"log":{"remoteLocation":"\#(String(repeating: "x", count: 513))"}}"#, .typeConstraintViolation),
        SchemaCase("get log resp ok", .getLog, .response, #"{"status":"AcceptedCanceled","filename":"f"}"#, nil),
        SchemaCase("install cert bad type", .installCertificate, .request, #"{"certificateType":"V2GRootCertificate","certificate":"x"}"#, .formationViolation),
        SchemaCase("signed fw missing signature", .signedUpdateFirmware, .request, #"{"requestId":1,"firmware":{"location":"l","retrieveDateTime":"2026-11-30T20:00:00Z","signingCertificate":"c"}}"#, .protocolError),
        SchemaCase("signed fw resp bad", .signedUpdateFirmware, .response, #"{"status":"Maybe"}"#, .formationViolation),
        SchemaCase("security event missing timestamp", .securityEventNotification, .request, #"{"type":"StartupOfTheDevice"}"#, .protocolError),
        SchemaCase("security event type 51", .securityEventNotification, .request, #"{"type":"\#(String(repeating: "x", count: 51))","timestamp":"2026-11-30T20:00:00Z"}"#, .typeConstraintViolation),
        SchemaCase("security event extra before type", .securityEventNotification, .request, #"{"type":5,"timestamp":"2026-11-30T20:00:00Z","x":1}"#, .formationViolation),
        SchemaCase("log status bad", .logStatusNotification, .request, #"{"status":"Done"}"#, .formationViolation),
        SchemaCase("log status requestId string", .logStatusNotification, .request, #"{"status":"Uploaded","requestId":"1"}"#, .typeConstraintViolation),
        SchemaCase("signed fw status ok", .signedFirmwareStatusNotification, .request, #"{"status":"InstallRebooting","requestId":3}"#, nil),
        SchemaCase("signed fw status bad", .signedFirmwareStatusNotification, .request, #"{"status":"Rebooting"}"#, .formationViolation),
        SchemaCase("sign cert missing", .signCertificate, .request, #"{}"#, .protocolError),
        SchemaCase("sign cert resp extra", .signCertificate, .response, #"{"status":"Accepted","x":1}"#, .formationViolation),
        SchemaCase("security event resp extra", .securityEventNotification, .response, #"{"x":1}"#, .formationViolation),
    ]
}

@Suite struct SchemaValidationTests {
    @Test(arguments: SchemaCase.all)
    func codeMatchesMobilityhouse(_ schemaCase: SchemaCase) throws {
        let payload = try JSONValue(parsing: schemaCase.payload)
        let result: Result<Void, OCPPValidationError> = Result { () throws(OCPPValidationError) in
            switch schemaCase.kind {
            case .request: try schemaCase.action.validateRequest(payload)
            case .response: try schemaCase.action.validateResponse(payload)
            }
        }
        switch result {
        case .success: #expect(schemaCase.expected == nil)
        case .failure(let error): #expect(error.code == schemaCase.expected, "\(error.description)")
        }
    }
}
