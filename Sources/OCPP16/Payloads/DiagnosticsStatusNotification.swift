public struct DiagnosticsStatusNotificationRequest: OCPPRequest {
    public typealias Response = DiagnosticsStatusNotificationResponse
    public static let action = OCPPAction.diagnosticsStatusNotification

    public var status: DiagnosticsStatus

    public init(status: DiagnosticsStatus) {
        self.status = status
    }
}

public struct DiagnosticsStatusNotificationResponse: OCPPPayload {
    public init() {}
}

public enum DiagnosticsStatus: String, Codable, Sendable, CaseIterable {
    case idle = "Idle"
    case uploaded = "Uploaded"
    case uploadFailed = "UploadFailed"
    case uploading = "Uploading"
}
