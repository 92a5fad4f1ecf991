public struct CertificateSignedRequest: OCPPRequest {
    public typealias Response = CertificateSignedResponse
    public static let action = OCPPAction.certificateSigned

    /// PEM: the charge point's new certificate, then any intermediates.
    public var certificateChain: String

    public init(certificateChain: String) {
        self.certificateChain = certificateChain
    }
}

public struct CertificateSignedResponse: OCPPPayload {
    public var status: GenericStatus

    public init(status: GenericStatus) {
        self.status = status
    }
}
