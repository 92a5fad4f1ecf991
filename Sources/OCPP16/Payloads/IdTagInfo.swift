import Foundation

/// What the central system says about an idTag (Authorize, StartTransaction, StopTransaction).
public struct IdTagInfo: Codable, Sendable, Equatable {
    public var status: AuthorizationStatus
    public var expiryDate: Date?
    public var parentIdTag: String?

    public init(status: AuthorizationStatus, expiryDate: Date? = nil, parentIdTag: String? = nil) {
        self.status = status
        self.expiryDate = expiryDate
        self.parentIdTag = parentIdTag
    }
}

public enum AuthorizationStatus: String, Codable, Sendable, CaseIterable {
    case accepted = "Accepted"
    case blocked = "Blocked"
    case expired = "Expired"
    case invalid = "Invalid"
    case concurrentTx = "ConcurrentTx"
}
