/// Every field narrows which profiles are cleared; none clears them all.
public struct ClearChargingProfileRequest: OCPPRequest {
    public typealias Response = ClearChargingProfileResponse
    public static let action = OCPPAction.clearChargingProfile

    public var id: Int?
    public var connectorId: Int?
    public var chargingProfilePurpose: ChargingProfilePurpose?
    public var stackLevel: Int?

    public init(id: Int? = nil, connectorId: Int? = nil, chargingProfilePurpose: ChargingProfilePurpose? = nil, stackLevel: Int? = nil) {
        self.id = id
        self.connectorId = connectorId
        self.chargingProfilePurpose = chargingProfilePurpose
        self.stackLevel = stackLevel
    }
}

public struct ClearChargingProfileResponse: OCPPPayload {
    public var status: ClearChargingProfileStatus

    public init(status: ClearChargingProfileStatus) {
        self.status = status
    }
}

public enum ClearChargingProfileStatus: String, Codable, Sendable, CaseIterable {
    case accepted = "Accepted"
    case unknown = "Unknown"
}
