public struct RemoteStartTransactionRequest: OCPPRequest {
    public typealias Response = RemoteStartTransactionResponse
    public static let action = OCPPAction.remoteStartTransaction

    public var connectorId: Int?
    public var idTag: String
    public var chargingProfile: ChargingProfile?

    public init(idTag: String, connectorId: Int? = nil, chargingProfile: ChargingProfile? = nil) {
        self.connectorId = connectorId
        self.idTag = idTag
        self.chargingProfile = chargingProfile
    }
}

public struct RemoteStartTransactionResponse: OCPPPayload {
    public var status: RemoteStartStopStatus

    public init(status: RemoteStartStopStatus) {
        self.status = status
    }
}
