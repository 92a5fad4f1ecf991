public struct GetLocalListVersionRequest: OCPPRequest {
    public typealias Response = GetLocalListVersionResponse
    public static let action = OCPPAction.getLocalListVersion

    public init() {}
}

public struct GetLocalListVersionResponse: OCPPPayload {
    /// 0: the list is empty; -1: the charge point has no local list.
    public var listVersion: Int

    public init(listVersion: Int) {
        self.listVersion = listVersion
    }
}
