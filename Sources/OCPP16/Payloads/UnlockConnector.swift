public struct UnlockConnectorRequest: OCPPRequest {
    public typealias Response = UnlockConnectorResponse
    public static let action = OCPPAction.unlockConnector

    public var connectorId: Int

    public init(connectorId: Int) {
        self.connectorId = connectorId
    }
}

public struct UnlockConnectorResponse: OCPPPayload {
    public var status: UnlockStatus

    public init(status: UnlockStatus) {
        self.status = status
    }
}

public enum UnlockStatus: String, Codable, Sendable, CaseIterable {
    case unlocked = "Unlocked"
    case unlockFailed = "UnlockFailed"
    case notSupported = "NotSupported"
}
