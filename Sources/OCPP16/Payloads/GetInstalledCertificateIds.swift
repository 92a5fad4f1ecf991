public struct GetInstalledCertificateIdsRequest: OCPPRequest {
    public typealias Response = GetInstalledCertificateIdsResponse
    public static let action = OCPPAction.getInstalledCertificateIds

    public var certificateType: CertificateUse

    public init(certificateType: CertificateUse) {
        self.certificateType = certificateType
    }
}

public struct GetInstalledCertificateIdsResponse: OCPPPayload {
    public var certificateHashData: [CertificateHashData]?
    public var status: GetInstalledCertificateStatus

    public init(status: GetInstalledCertificateStatus, certificateHashData: [CertificateHashData]? = nil) {
        self.certificateHashData = certificateHashData
        self.status = status
    }
}

public enum GetInstalledCertificateStatus: String, Codable, Sendable, CaseIterable {
    case accepted = "Accepted"
    case notFound = "NotFound"
}
