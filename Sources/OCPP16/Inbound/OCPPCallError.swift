/// A CALLERROR a charge point answered to one of our CALLs.
public struct OCPPCallError: Error, Sendable, Equatable {
    /// The code as sent.
    public let rawCode: String
    public let description: String
    public let details: JSONValue

    public init(rawCode: String, description: String, details: JSONValue = [:]) {
        self.rawCode = rawCode
        self.description = description
        self.details = details
    }

    /// The 1.6 code, or nil when the charge point sent something else (e.g. 2.0's "FormatViolation").
    public var code: OCPPErrorCode? {
        OCPPErrorCode(rawValue: rawCode)
    }
}
