public struct SetChargingProfileRequest: OCPPRequest {
    public typealias Response = SetChargingProfileResponse
    public static let action = OCPPAction.setChargingProfile

    /// 0: the charge point as a whole (ChargePointMaxProfile, TxDefaultProfile).
    public var connectorId: Int
    public var csChargingProfiles: ChargingProfile

    public init(connectorId: Int, csChargingProfiles: ChargingProfile) {
        self.connectorId = connectorId
        self.csChargingProfiles = csChargingProfiles
    }
}

public struct SetChargingProfileResponse: OCPPPayload {
    public var status: ChargingProfileStatus

    public init(status: ChargingProfileStatus) {
        self.status = status
    }
}

public enum ChargingProfileStatus: String, Codable, Sendable, CaseIterable {
    case accepted = "Accepted"
    case rejected = "Rejected"
    case notSupported = "NotSupported"
}
