/// A text frame from a charge point that cannot be accepted, and how to answer it.
public struct OCPPInboundFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The id answered when the frame's own id cannot be read: OCPP 1.6 says nothing, so this follows
    /// OCPP-J 2.0.1, whose CALLERROR prescribes "-1" for exactly this case.
    public static let unreadableID = "-1"

    public let code: OCPPErrorCode
    public let description: String
    /// The frame's id when its second element is a string (even one over 36 characters).
    public let messageID: String?
    /// The frame's type when its first element is 2, 3 or 4.
    public let messageType: OCPPMessageType?
    /// The action, for a CALL that names one.
    public let action: String?

    public init(
        code: OCPPErrorCode, description: String, messageID: String? = nil, messageType: OCPPMessageType? = nil,
        action: String? = nil
    ) {
        self.code = code
        self.description = description
        self.messageID = messageID
        self.messageType = messageType
        self.action = action
    }

    /// The CALLERROR text to send back, or nil when the frame was a CALLRESULT or CALLERROR: an answer is
    /// never answered (that could ping-pong); the call it meant to complete times out instead.
    public var reply: String? {
        if messageType == .callResult || messageType == .callError { return nil }
        return OCPPFrame.callError(
            id: messageID ?? Self.unreadableID, code: code.rawValue, description: description, details: [:]
        ).text
    }
}
