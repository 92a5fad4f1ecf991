public struct ClearCacheRequest: OCPPRequest {
    public typealias Response = ClearCacheResponse
    public static let action = OCPPAction.clearCache

    public init() {}
}

public struct ClearCacheResponse: OCPPPayload {
    public var status: ClearCacheStatus

    public init(status: ClearCacheStatus) {
        self.status = status
    }
}

public enum ClearCacheStatus: String, Codable, Sendable, CaseIterable {
    case accepted = "Accepted"
    case rejected = "Rejected"
}
