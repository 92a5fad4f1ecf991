/// Identifies an installed certificate (1.6 security extension).
public struct CertificateHashData: Codable, Sendable, Equatable {
    public var hashAlgorithm: HashAlgorithm
    public var issuerNameHash: String
    public var issuerKeyHash: String
    public var serialNumber: String

    public init(hashAlgorithm: HashAlgorithm, issuerNameHash: String, issuerKeyHash: String, serialNumber: String) {
        self.hashAlgorithm = hashAlgorithm
        self.issuerNameHash = issuerNameHash
        self.issuerKeyHash = issuerKeyHash
        self.serialNumber = serialNumber
    }
}

public enum HashAlgorithm: String, Codable, Sendable, CaseIterable {
    case sha256 = "SHA256"
    case sha384 = "SHA384"
    case sha512 = "SHA512"
}

public enum CertificateUse: String, Codable, Sendable, CaseIterable {
    case centralSystemRootCertificate = "CentralSystemRootCertificate"
    case manufacturerRootCertificate = "ManufacturerRootCertificate"
}

/// Accepted or Rejected (SignCertificate, CertificateSigned).
public enum GenericStatus: String, Codable, Sendable, CaseIterable {
    case accepted = "Accepted"
    case rejected = "Rejected"
}
