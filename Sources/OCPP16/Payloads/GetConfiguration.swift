public struct GetConfigurationRequest: OCPPRequest {
    public typealias Response = GetConfigurationResponse
    public static let action = OCPPAction.getConfiguration

    /// Absent: every key.
    public var key: [String]?

    public init(key: [String]? = nil) {
        self.key = key
    }
}

public struct GetConfigurationResponse: OCPPPayload {
    public var configurationKey: [ConfigurationKey]?
    public var unknownKey: [String]?

    public init(configurationKey: [ConfigurationKey]? = nil, unknownKey: [String]? = nil) {
        self.configurationKey = configurationKey
        self.unknownKey = unknownKey
    }
}

/// `KeyValue` in the 1.6 specification.
public struct ConfigurationKey: Codable, Sendable, Equatable {
    public var key: String
    public var readonly: Bool
    public var value: String?

    public init(key: String, readonly: Bool, value: String? = nil) {
        self.key = key
        self.readonly = readonly
        self.value = value
    }
}
