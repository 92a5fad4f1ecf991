public struct LogStatusNotificationRequest: OCPPRequest {
    public typealias Response = LogStatusNotificationResponse
    public static let action = OCPPAction.logStatusNotification

    public var status: UploadLogStatus
    /// The GetLog's `requestId`; absent for Idle.
    public var requestId: Int?

    public init(status: UploadLogStatus, requestId: Int? = nil) {
        self.status = status
        self.requestId = requestId
    }
}

public struct LogStatusNotificationResponse: OCPPPayload {
    public init() {}
}

public enum UploadLogStatus: String, Codable, Sendable, CaseIterable {
    case badMessage = "BadMessage"
    case idle = "Idle"
    case notSupportedOperation = "NotSupportedOperation"
    case permissionDenied = "PermissionDenied"
    case uploaded = "Uploaded"
    case uploadFailure = "UploadFailure"
    case uploading = "Uploading"
}
