extension OCPPAction {
    /// Checks a CALL payload of this action against its OCPP 1.6J schema.
    public func validateRequest(_ payload: JSONValue) throws(OCPPValidationError) {
        if let violation = Self.requestSchemas[self]?.firstViolation(in: payload) { throw violation }
    }

    /// Checks a CALLRESULT payload of this action against its OCPP 1.6J schema.
    public func validateResponse(_ payload: JSONValue) throws(OCPPValidationError) {
        if let violation = Self.responseSchemas[self]?.firstViolation(in: payload) { throw violation }
    }

    // Built once: every action has both (`OCPPSchemas` switches exhaustively).
    private static let requestSchemas = Dictionary(uniqueKeysWithValues: allCases.map { ($0, OCPPSchemas.request($0)) })
    private static let responseSchemas = Dictionary(uniqueKeysWithValues: allCases.map { ($0, OCPPSchemas.response($0)) })
}
