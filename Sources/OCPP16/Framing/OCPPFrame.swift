/// One OCPP-J RPC frame, payloads as raw JSON.
public enum OCPPFrame: Sendable, Equatable {
    /// `[2, id, action, payload]`
    case call(id: String, action: String, payload: JSONValue)
    /// `[3, id, payload]`
    case callResult(id: String, payload: JSONValue)
    /// `[4, id, errorCode, errorDescription, errorDetails]`; the code as sent, which may be no 1.6 code.
    case callError(id: String, code: String, description: String, details: JSONValue)

    /// OCPP-J 1.6: a message id is a string of at most 36 characters.
    public static let maximumIDLength = 36

    public var id: String {
        switch self {
        case .call(let id, _, _), .callResult(let id, _), .callError(let id, _, _, _): id
        }
    }

    /// The frame as the text of a WebSocket message.
    public var text: String {
        let elements: [JSONValue] = switch self {
        case .call(let id, let action, let payload): [2, .string(id), .string(action), payload]
        case .callResult(let id, let payload): [3, .string(id), payload]
        case .callError(let id, let code, let description, let details):
            [4, .string(id), .string(code), .string(description), details]
        }
        return JSONValue.array(elements).jsonText
    }

    /// Reads the frame structure only; payloads are not looked at.
    ///
    /// Text that is not JSON → FormationViolation. JSON that is not an OCPP-J frame (not an array, wrong
    /// message type, wrong number or type of elements, id over 36 characters) → ProtocolError. The failure
    /// carries the id whenever the second element is a string, even an over-long one, so the answer can
    /// echo it.
    public static func parse(_ text: String) throws(OCPPInboundFailure) -> OCPPFrame {
        let json: JSONValue
        do {
            json = try JSONValue(parsing: text)
        } catch {
            throw OCPPInboundFailure(code: .formationViolation, description: "not JSON: \(error.description)")
        }
        guard case .array(let elements) = json else {
            throw OCPPInboundFailure(code: .protocolError, description: "a frame must be a JSON array")
        }
        let id = elements.count > 1 ? elements[1].stringValue : nil
        func failure(_ description: String, _ type: OCPPMessageType? = nil) -> OCPPInboundFailure {
            let action = type == .call && elements.count > 2 ? elements[2].stringValue : nil
            return OCPPInboundFailure(code: .protocolError, description: description, messageID: id, messageType: type, action: action)
        }

        guard let typeNumber = elements.first?.integerValue else {
            throw failure("the first element must be the message type number 2, 3 or 4")
        }
        guard let type = OCPPMessageType(rawValue: typeNumber) else {
            throw failure("unknown message type \(typeNumber)")
        }
        guard let id else { throw failure("the message id must be a string", type) }
        guard id.unicodeScalars.count <= maximumIDLength else {
            throw failure("the message id is longer than \(maximumIDLength) characters", type)
        }
        guard elements.count == type.arity else {
            throw failure("a \(type) frame has \(type.arity) elements, not \(elements.count)", type)
        }

        switch type {
        case .call:
            guard let action = elements[2].stringValue else { throw failure("the action must be a string", type) }
            guard case .object = elements[3] else { throw failure("the payload must be a JSON object", type) }
            return .call(id: id, action: action, payload: elements[3])
        case .callResult:
            guard case .object = elements[2] else { throw failure("the payload must be a JSON object", type) }
            return .callResult(id: id, payload: elements[2])
        case .callError:
            guard let code = elements[2].stringValue, let description = elements[3].stringValue else {
                throw failure("the error code and description must be strings", type)
            }
            guard case .object = elements[4] else { throw failure("the error details must be a JSON object", type) }
            return .callError(id: id, code: code, description: description, details: elements[4])
        }
    }
}

extension OCPPMessageType: CustomStringConvertible {
    public var description: String {
        switch self {
        case .call: "CALL"
        case .callResult: "CALLRESULT"
        case .callError: "CALLERROR"
        }
    }
}
