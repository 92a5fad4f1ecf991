public struct AuthorizeRequest: OCPPRequest {
    public typealias Response = AuthorizeResponse
    public static let action = OCPPAction.authorize

    public var idTag: String

    public init(idTag: String) {
        self.idTag = idTag
    }
}

public struct AuthorizeResponse: OCPPPayload {
    public var idTagInfo: IdTagInfo

    public init(idTagInfo: IdTagInfo) {
        self.idTagInfo = idTagInfo
    }
}
