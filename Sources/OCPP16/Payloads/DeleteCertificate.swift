public struct DeleteCertificateRequest: OCPPRequest {
    public typealias Response = DeleteCertificateResponse
    public static let action = OCPPAction.deleteCertificate

    public var certificateHashData: CertificateHashData

    public init(certificateHashData: CertificateHashData) {
        self.certificateHashData = certificateHashData
    }
}

public struct DeleteCertificateResponse: OCPPPayload {
    public var status: DeleteCertificateStatus

    public init(status: DeleteCertificateStatus) {
        self.status = status
    }
}

public enum DeleteCertificateStatus: String, Codable, Sendable, CaseIterable {
    case accepted = "Accepted"
    case failed = "Failed"
    case notFound = "NotFound"
}
