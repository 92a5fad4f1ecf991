public struct TriggerMessageRequest: OCPPRequest {
    public typealias Response = TriggerMessageResponse
    public static let action = OCPPAction.triggerMessage

    public var requestedMessage: MessageTrigger
    public var connectorId: Int?

    public init(requestedMessage: MessageTrigger, connectorId: Int? = nil) {
        self.requestedMessage = requestedMessage
        self.connectorId = connectorId
    }
}

public struct TriggerMessageResponse: OCPPPayload {
    public var status: TriggerMessageStatus

    public init(status: TriggerMessageStatus) {
        self.status = status
    }
}

public enum MessageTrigger: String, Codable, Sendable, CaseIterable {
    case bootNotification = "BootNotification"
    case diagnosticsStatusNotification = "DiagnosticsStatusNotification"
    case firmwareStatusNotification = "FirmwareStatusNotification"
    case heartbeat = "Heartbeat"
    case meterValues = "MeterValues"
    case statusNotification = "StatusNotification"
}

public enum TriggerMessageStatus: String, Codable, Sendable, CaseIterable {
    case accepted = "Accepted"
    case rejected = "Rejected"
    case notImplemented = "NotImplemented"
}
