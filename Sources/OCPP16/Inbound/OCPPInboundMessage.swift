/// A text frame from a charge point that was accepted.
public enum OCPPInboundMessage: Sendable, Equatable {
    /// A CALL, validated against its schema and decoded. Answer it with `OCPPOutbound.callResult`.
    case call(id: String, ChargePointCall)
    /// A CALLRESULT; its payload is checked against the schema of the call it answers, which only the
    /// session knows (`OCPPSessionStateMachine.received(_:now:)`).
    case callResult(id: String, payload: JSONValue)
    case callError(id: String, OCPPCallError)
}
