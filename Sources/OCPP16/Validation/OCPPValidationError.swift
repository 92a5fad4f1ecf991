/// A payload that does not conform to its OCPP 1.6J schema.
public struct OCPPValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The CALLERROR code to answer with.
    public let code: OCPPErrorCode
    /// Where and what, e.g. `connectorId: expected integer`.
    public let description: String

    public init(code: OCPPErrorCode, description: String) {
        self.code = code
        self.description = description
    }
}
