public struct SendLocalListRequest: OCPPRequest {
    public typealias Response = SendLocalListResponse
    public static let action = OCPPAction.sendLocalList

    public var listVersion: Int
    public var localAuthorizationList: [AuthorizationData]?
    public var updateType: UpdateType

    public init(listVersion: Int, updateType: UpdateType, localAuthorizationList: [AuthorizationData]? = nil) {
        self.listVersion = listVersion
        self.localAuthorizationList = localAuthorizationList
        self.updateType = updateType
    }
}

/// One entry of a local authorization list; without `idTagInfo` a differential update removes the tag.
public struct AuthorizationData: Codable, Sendable, Equatable {
    public var idTag: String
    public var idTagInfo: IdTagInfo?

    public init(idTag: String, idTagInfo: IdTagInfo? = nil) {
        self.idTag = idTag
        self.idTagInfo = idTagInfo
    }
}

public struct SendLocalListResponse: OCPPPayload {
    public var status: UpdateStatus

    public init(status: UpdateStatus) {
        self.status = status
    }
}

public enum UpdateType: String, Codable, Sendable, CaseIterable {
    case differential = "Differential"
    case full = "Full"
}

public enum UpdateStatus: String, Codable, Sendable, CaseIterable {
    case accepted = "Accepted"
    case failed = "Failed"
    case notSupported = "NotSupported"
    case versionMismatch = "VersionMismatch"
}
