/// The CALLERROR codes of OCPP-J 1.6, spelled as 1.6 spells them.
public enum OCPPErrorCode: String, Sendable, Hashable, CaseIterable, Codable {
    /// The action is not known to the receiver.
    case notImplemented = "NotImplemented"
    /// The action is known but the receiver does not accept it.
    case notSupported = "NotSupported"
    case internalError = "InternalError"
    /// The payload is incomplete (a required field is missing), or the frame is not an OCPP-J RPC frame.
    case protocolError = "ProtocolError"
    case securityError = "SecurityError"
    /// The payload is syntactically wrong or does not conform to the action's PDU structure.
    case formationViolation = "FormationViolation"
    case propertyConstraintViolation = "PropertyConstraintViolation"
    /// Sic: OCPP 1.6 spells it with one "r".
    case occurenceConstraintViolation = "OccurenceConstraintViolation"
    case typeConstraintViolation = "TypeConstraintViolation"
    case genericError = "GenericError"
}
