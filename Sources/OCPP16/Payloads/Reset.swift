public struct ResetRequest: OCPPRequest {
    public typealias Response = ResetResponse
    public static let action = OCPPAction.reset

    public var type: ResetType

    public init(type: ResetType) {
        self.type = type
    }
}

public struct ResetResponse: OCPPPayload {
    public var status: ResetStatus

    public init(status: ResetStatus) {
        self.status = status
    }
}

public enum ResetType: String, Codable, Sendable, CaseIterable {
    case hard = "Hard"
    case soft = "Soft"
}

public enum ResetStatus: String, Codable, Sendable, CaseIterable {
    case accepted = "Accepted"
    case rejected = "Rejected"
}
