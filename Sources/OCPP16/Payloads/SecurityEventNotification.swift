import Foundation

public struct SecurityEventNotificationRequest: OCPPRequest {
    public typealias Response = SecurityEventNotificationResponse
    public static let action = OCPPAction.securityEventNotification

    /// E.g. `FirmwareUpdated`, `InvalidCentralSystemCertificate`, `TamperDetectionActivated` (the
    /// security whitepaper's list; a charger may send others).
    public var type: String
    public var timestamp: Date
    public var techInfo: String?

    public init(type: String, timestamp: Date, techInfo: String? = nil) {
        self.type = type
        self.timestamp = timestamp
        self.techInfo = techInfo
    }
}

public struct SecurityEventNotificationResponse: OCPPPayload {
    public init() {}
}
