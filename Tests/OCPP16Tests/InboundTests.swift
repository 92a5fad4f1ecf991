import Testing
import OCPP16

@Suite struct InboundTests {
    @Test(arguments: ChargePointExamples.all)
    func exampleCallDecodes(frame: String, call: ChargePointCall) throws {
        let message = try OCPPInbound.parse(frame).get()
        guard case .call(let id, let decoded) = message else {
            Issue.record("not a call: \(message)")
            return
        }
        #expect(decoded == call)
        // Encoding the decoded call gives back the payload that was sent.
        guard case .call(let sentID, let action, let sentPayload) = try OCPPFrame.parse(frame) else { return }
        #expect(id == sentID)
        #expect(action == call.action.rawValue)
        #expect(try Self.payload(of: decoded) == sentPayload)
    }

    private static func payload(of call: ChargePointCall) throws -> JSONValue {
        switch call {
        case .authorize(let request): try JSONValue(encoding: request)
        case .bootNotification(let request): try JSONValue(encoding: request)
        case .dataTransfer(let request): try JSONValue(encoding: request)
        case .diagnosticsStatusNotification(let request): try JSONValue(encoding: request)
        case .firmwareStatusNotification(let request): try JSONValue(encoding: request)
        case .heartbeat(let request): try JSONValue(encoding: request)
        case .meterValues(let request): try JSONValue(encoding: request)
        case .startTransaction(let request): try JSONValue(encoding: request)
        case .statusNotification(let request): try JSONValue(encoding: request)
        case .stopTransaction(let request): try JSONValue(encoding: request)
        case .logStatusNotification(let request): try JSONValue(encoding: request)
        case .securityEventNotification(let request): try JSONValue(encoding: request)
        case .signCertificate(let request): try JSONValue(encoding: request)
        case .signedFirmwareStatusNotification(let request): try JSONValue(encoding: request)
        }
    }

    @Test func integersBeyond64BitsAreRefused() throws {
        let failure = try failure(#"[2,"m1","MeterValues",{"connectorId":18446744073709551616,"meterValue":[]}]"#)
        #expect(failure.code == .typeConstraintViolation)
        #expect(failure.description == "connectorId: expected integer (no fraction or exponent, 64-bit)")
    }

    @Test func callResultAndCallErrorPassThrough() throws {
        #expect(try OCPPInbound.parse(#"[3,"c-1",{"status":"Accepted"}]"#).get() == .callResult(id: "c-1", payload: ["status": "Accepted"]))
        let error = try OCPPInbound.parse(#"[4,"c-2","NotSupported","no reservations",{"why":"firmware"}]"#).get()
        #expect(error == .callError(id: "c-2", OCPPCallError(rawCode: "NotSupported", description: "no reservations", details: ["why": "firmware"])))
        guard case .callError(_, let callError) = error else { return }
        #expect(callError.code == .notSupported)
        #expect(OCPPCallError(rawCode: "FormatViolation", description: "").code == nil)
    }

    // MARK: Failures: the code, the id echoed, and the reply.

    private func failure(_ text: String) throws -> OCPPInboundFailure {
        switch OCPPInbound.parse(text) {
        case .success(let message): throw UnexpectedSuccess(message: message)
        case .failure(let failure): return failure
        }
    }

    private struct UnexpectedSuccess: Error {
        let message: OCPPInboundMessage
    }

    @Test(arguments: [
        (#"[2,"m1","StatusNotification",{"errorCode":"NoError","status":"Available"}]"#, OCPPErrorCode.protocolError, "connectorId: missing required field"),
        (#"[2,"m1","StatusNotification",{"connectorId":"1","errorCode":"NoError","status":"Available"}]"#, .typeConstraintViolation, "connectorId: expected integer"),
        (#"[2,"m1","StatusNotification",{"connectorId":1.5,"errorCode":"NoError","status":"Available"}]"#, .typeConstraintViolation, "connectorId: expected integer (no fraction or exponent, 64-bit)"),
        (#"[2,"m1","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Available","colour":"red"}]"#, .formationViolation, "colour: unknown field"),
        (#"[2,"m1","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Sleeping"}]"#, .formationViolation, #"status: "Sleeping" is not one of Available, Preparing, Charging, SuspendedEVSE, SuspendedEV, Finishing, Reserved, Unavailable, Faulted"#),
        (#"[2,"m1","Authorize",{"idTag":"0123456789ABCDEF01234"}]"#, .typeConstraintViolation, "idTag: longer than 20 characters"),
        (#"[2,"m1","StartTransaction",{"connectorId":1,"idTag":"T","meterStart":0,"timestamp":"30.11.2026 20:00"}]"#, .formationViolation, #"timestamp: "30.11.2026 20:00" is not an RFC 3339 date-time"#),
        (#"[2,"m1","MeterValues",{"connectorId":1,"meterValue":[{"timestamp":"2026-11-30T20:00:00Z","sampledValue":[{"value":"1","unit":"MWh"}]}]}]"#, .formationViolation, #"meterValue[0].sampledValue[0].unit: "MWh" is not one of Wh, kWh, varh, kvarh, W, kW, VA, kVA, var, kvar, A, V, K, Celcius, Celsius, Fahrenheit, Percent, Hertz"#),
        (#"[2,"m1","Hearbeat",{}]"#, .notImplemented, "unknown action Hearbeat"),
        (#"[2,"m1","RemoteStartTransaction",{"idTag":"T"}]"#, .notSupported, "RemoteStartTransaction is sent by a central system, not by a charge point"),
        (#"[2,"m1","SetChargingProfile",{}]"#, .notSupported, "SetChargingProfile is sent by a central system, not by a charge point"),
        (#"[2,"m1","DataTransfer",{"vendorId":"v","data":{"json":"object"}}]"#, .typeConstraintViolation, "data: expected string"),
    ])
    func invalidCallIsAnsweredWithItsCode(frame: String, code: OCPPErrorCode, description: String) throws {
        let failure = try failure(frame)
        #expect(failure.code == code)
        #expect(failure.description == description)
        #expect(failure.messageID == "m1")
        #expect(failure.messageType == .call)
        let reply = try #require(failure.reply)
        #expect(try JSONValue(parsing: reply) == [4, "m1", .string(code.rawValue), .string(description), [:]])
    }

    @Test(arguments: [
        ("this is not json", OCPPErrorCode.formationViolation, nil as String?),
        (#"[2,"m1","Heartbeat",{}"#, .formationViolation, nil),
        (#"{"messageTypeId":2}"#, .protocolError, nil),
        (#""Heartbeat""#, .protocolError, nil),
        ("[]", .protocolError, nil),
        (#"["2","m1","Heartbeat",{}]"#, .protocolError, "m1"),
        (#"[2.0,"m1","Heartbeat",{}]"#, .protocolError, "m1"),
        (#"[7,"m1","Heartbeat",{}]"#, .protocolError, "m1"),
        (#"[2,17,"Heartbeat",{}]"#, .protocolError, nil),
        (#"[2]"#, .protocolError, nil),
        (#"[2,"m1","Heartbeat"]"#, .protocolError, "m1"),
        (#"[2,"m1","Heartbeat",{},{}]"#, .protocolError, "m1"),
        (#"[2,"m1",5,{}]"#, .protocolError, "m1"),
        (#"[2,"m1","Heartbeat",[]]"#, .protocolError, "m1"),
        (#"[2,"0123456789-0123456789-0123456789-WXYZ","Heartbeat",{}]"#, .protocolError, "0123456789-0123456789-0123456789-WXYZ"),
    ])
    func brokenFrameIsAnsweredWithItsCode(frame: String, code: OCPPErrorCode, id: String?) throws {
        let failure = try failure(frame)
        #expect(failure.code == code)
        #expect(failure.messageID == id)
        let reply = try JSONValue(parsing: try #require(failure.reply))
        guard case .array(let elements) = reply else {
            Issue.record("reply is not an array")
            return
        }
        #expect(elements.count == 5)
        #expect(elements[0] == 4)
        #expect(elements[1] == .string(id ?? "-1"))
        #expect(elements[2] == .string(code.rawValue))
    }

    @Test func idOfExactly36CharactersIsAccepted() throws {
        let id = String(repeating: "x", count: 36)
        #expect(try OCPPInbound.parse(#"[2,"\#(id)","Heartbeat",{}]"#).get() == .call(id: id, .heartbeat(HeartbeatRequest())))
    }

    @Test(arguments: [
        #"[3,"m1"]"#, #"[3,"m1",[]]"#, #"[3,"m1",{},{}]"#, #"[4,"m1","GenericError",{}]"#, #"[4,"m1",1,"d",{}]"#,
        #"[4,"m1","GenericError","d","details"]"#,
    ])
    func brokenAnswerIsNotAnswered(frame: String) throws {
        let failure = try failure(frame)
        #expect(failure.code == .protocolError)
        #expect(failure.messageID == "m1")
        #expect(failure.reply == nil)
    }
}
