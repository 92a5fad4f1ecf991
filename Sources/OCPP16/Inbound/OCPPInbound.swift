/// The way in: one text frame from a charge point, framed, validated and decoded.
public enum OCPPInbound {
    /// Failures say which CALLERROR to answer (`OCPPInboundFailure.reply`):
    /// - not JSON → FormationViolation; not an OCPP-J frame → ProtocolError (see `OCPPFrame.parse`);
    /// - an action OCPP 1.6 does not know → NotImplemented;
    /// - a known action that only a central system sends → NotSupported;
    /// - a payload against its schema → the code from `OCPPAction.validateRequest`.
    public static func parse(_ text: String) -> Result<OCPPInboundMessage, OCPPInboundFailure> {
        Result { () throws(OCPPInboundFailure) in try message(from: OCPPFrame.parse(text)) }
    }

    private static func message(from frame: OCPPFrame) throws(OCPPInboundFailure) -> OCPPInboundMessage {
        switch frame {
        case .callResult(let id, let payload):
            return .callResult(id: id, payload: payload)
        case .callError(let id, let code, let description, let details):
            return .callError(id: id, OCPPCallError(rawCode: code, description: description, details: details))
        case .call(let id, let actionName, let payload):
            func failure(_ code: OCPPErrorCode, _ description: String) -> OCPPInboundFailure {
                OCPPInboundFailure(code: code, description: description, messageID: id, messageType: .call, action: actionName)
            }
            guard let action = OCPPAction(rawValue: actionName), action.isSentByChargePoint else {
                if OCPPAction(rawValue: actionName) != nil {
                    throw failure(.notSupported, "\(actionName) is sent by a central system, not by a charge point")
                }
                throw failure(.notImplemented, "unknown action \(actionName)")
            }
            do {
                try action.validateRequest(payload)
            } catch {
                throw failure(error.code, error.description)
            }
            let call: ChargePointCall?
            do {
                call = try ChargePointCall.decode(action, payload: payload)
            } catch {
                // Unreachable for a payload that passed its schema; answered rather than crashed on.
                throw failure(.internalError, "could not decode \(actionName): \(error)")
            }
            guard let call else { throw failure(.internalError, "no decoder for \(actionName)") }
            return .call(id: id, call)
        }
    }
}
