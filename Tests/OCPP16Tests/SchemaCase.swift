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
