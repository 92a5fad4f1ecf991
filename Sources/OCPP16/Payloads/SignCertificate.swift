public struct SignCertificateRequest: OCPPRequest {
    public typealias Response = SignCertificateResponse
    public static let action = OCPPAction.signCertificate

    /// PEM of a PKCS#10 certificate signing request.
    public var csr: String

    public init(csr: String) {
        self.csr = csr
    }
}

/// Accepted: the signed certificate follows as a CertificateSigned CALL.
public struct SignCertificateResponse: OCPPPayload {
    public var status: GenericStatus

    public init(status: GenericStatus) {
        self.status = status
    }
}
