public struct FirmwareStatusNotificationRequest: OCPPRequest {
    public typealias Response = FirmwareStatusNotificationResponse
    public static let action = OCPPAction.firmwareStatusNotification

    public var status: FirmwareStatus

    public init(status: FirmwareStatus) {
        self.status = status
    }
}

public struct FirmwareStatusNotificationResponse: OCPPPayload {
    public init() {}
}

public enum FirmwareStatus: String, Codable, Sendable, CaseIterable {
    case downloaded = "Downloaded"
    case downloadFailed = "DownloadFailed"
    case downloading = "Downloading"
    case idle = "Idle"
    case installationFailed = "InstallationFailed"
    case installing = "Installing"
    case installed = "Installed"
}
