/// The way out: the text frames a central system sends.
public enum OCPPOutbound {
    /// A CALL of a typed request. Throws only for a value JSON cannot carry (a NaN charging limit).
    public static func call<Request: OCPPRequest>(id: String, _ request: Request) throws -> String {
        OCPPFrame.call(id: id, action: Request.action.rawValue, payload: try JSONValue(encoding: request)).text
    }

    /// The CALLRESULT answering the charge point's CALL `id`.
    public static func callResult(id: String, _ response: some OCPPPayload) throws -> String {
        OCPPFrame.callResult(id: id, payload: try JSONValue(encoding: response)).text
    }

    /// The CALLERROR answering the charge point's CALL `id`.
    public static func callError(
        id: String, code: OCPPErrorCode, description: String, details: JSONValue = [:]
    ) -> String {
        OCPPFrame.callError(id: id, code: code.rawValue, description: description, details: details).text
    }
}
