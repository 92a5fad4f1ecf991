public struct SignedFirmwareStatusNotificationRequest: OCPPRequest {
    public typealias Response = SignedFirmwareStatusNotificationResponse
    public static let action = OCPPAction.signedFirmwareStatusNotification

    public var status: SignedFirmwareStatus
    /// The SignedUpdateFirmware's `requestId`; absent for Idle.
    public var requestId: Int?

    public init(status: SignedFirmwareStatus, requestId: Int? = nil) {
        self.status = status
        self.requestId = requestId
    }
}

public struct SignedFirmwareStatusNotificationResponse: OCPPPayload {
    public init() {}
}

public enum SignedFirmwareStatus: String, Codable, Sendable, CaseIterable {
    case downloaded = "Downloaded"
    case downloadFailed = "DownloadFailed"
    case downloading = "Downloading"
    case downloadScheduled = "DownloadScheduled"
    case downloadPaused = "DownloadPaused"
    case idle = "Idle"
    case installationFailed = "InstallationFailed"
    case installing = "Installing"
    case installed = "Installed"
    case installRebooting = "InstallRebooting"
    case installScheduled = "InstallScheduled"
    case installVerificationFailed = "InstallVerificationFailed"
    case invalidSignature = "InvalidSignature"
    case signatureVerified = "SignatureVerified"
}
