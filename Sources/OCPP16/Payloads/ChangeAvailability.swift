public struct ChangeAvailabilityRequest: OCPPRequest {
    public typealias Response = ChangeAvailabilityResponse
    public static let action = OCPPAction.changeAvailability

    /// 0 is the charge point as a whole.
    public var connectorId: Int
    public var type: AvailabilityType

    public init(connectorId: Int, type: AvailabilityType) {
        self.connectorId = connectorId
        self.type = type
    }
}

public struct ChangeAvailabilityResponse: OCPPPayload {
    public var status: AvailabilityStatus

    public init(status: AvailabilityStatus) {
        self.status = status
    }
}

public enum AvailabilityType: String, Codable, Sendable, CaseIterable {
    case inoperative = "Inoperative"
    case operative = "Operative"
}

public enum AvailabilityStatus: String, Codable, Sendable, CaseIterable {
    case accepted = "Accepted"
    case rejected = "Rejected"
    case scheduled = "Scheduled"
}
