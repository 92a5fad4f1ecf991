public struct ChangeConfigurationRequest: OCPPRequest {
    public typealias Response = ChangeConfigurationResponse
    public static let action = OCPPAction.changeConfiguration

    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

public struct ChangeConfigurationResponse: OCPPPayload {
    public var status: ConfigurationStatus

    public init(status: ConfigurationStatus) {
        self.status = status
    }
}

public enum ConfigurationStatus: String, Codable, Sendable, CaseIterable {
    case accepted = "Accepted"
    case rejected = "Rejected"
    case rebootRequired = "RebootRequired"
    case notSupported = "NotSupported"
}
