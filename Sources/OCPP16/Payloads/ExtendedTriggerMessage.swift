public struct ExtendedTriggerMessageRequest: OCPPRequest {
    public typealias Response = ExtendedTriggerMessageResponse
    public static let action = OCPPAction.extendedTriggerMessage

    public var requestedMessage: ExtendedMessageTrigger
    public var connectorId: Int?

    public init(requestedMessage: ExtendedMessageTrigger, connectorId: Int? = nil) {
        self.requestedMessage = requestedMessage
        self.connectorId = connectorId
    }
}

public struct ExtendedTriggerMessageResponse: OCPPPayload {
    public var status: TriggerMessageStatus

    public init(status: TriggerMessageStatus) {
        self.status = status
    }
}

public enum ExtendedMessageTrigger: String, Codable, Sendable, CaseIterable {
    case bootNotification = "BootNotification"
    case logStatusNotification = "LogStatusNotification"
    case firmwareStatusNotification = "FirmwareStatusNotification"
    case heartbeat = "Heartbeat"
    case meterValues = "MeterValues"
    case signChargePointCertificate = "SignChargePointCertificate"
    case statusNotification = "StatusNotification"
}
