/// A typed OCPP 1.6J payload: the JSON object of a CALL or CALLRESULT.
public protocol OCPPPayload: Codable, Sendable, Equatable {}

/// A CALL payload, with the action it is sent under and the CALLRESULT payload it gets back.
public protocol OCPPRequest: OCPPPayload {
    associatedtype Response: OCPPPayload
    static var action: OCPPAction { get }
}
