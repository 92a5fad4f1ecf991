public struct InstallCertificateRequest: OCPPRequest {
    public typealias Response = InstallCertificateResponse
    public static let action = OCPPAction.installCertificate

    public var certificateType: CertificateUse
    /// PEM.
    public var certificate: String

    public init(certificateType: CertificateUse, certificate: String) {
        self.certificateType = certificateType
        self.certificate = certificate
    }
}

public struct InstallCertificateResponse: OCPPPayload {
    public var status: InstallCertificateStatus

    public init(status: InstallCertificateStatus) {
        self.status = status
    }
}

public enum InstallCertificateStatus: String, Codable, Sendable, CaseIterable {
    case accepted = "Accepted"
    case failed = "Failed"
    case rejected = "Rejected"
}
