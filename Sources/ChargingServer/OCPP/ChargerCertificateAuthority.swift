import Crypto
import Foundation
import X509

/// The operator's CA, which signs chargers' SignCertificate requests (OCPP 1.6 security extension) so a
/// charger on security profile 2 can get the client certificate profile 3 needs. Its certificate and
/// private key are read from PEM files named in the configuration (`serve --ocpp-ca-certificate`,
/// `--ocpp-ca-key`), never stored in the database or the repository.
public struct ChargerCertificateAuthority: Sendable {
    public let certificate: Certificate
    let privateKey: Certificate.PrivateKey
    /// How long an issued certificate is valid.
    public var validity: TimeInterval = 365 * 24 * 3600

    public init(certificatePEM: String, privateKeyPEM: String) throws {
        let certificate: Certificate
        let privateKey: Certificate.PrivateKey
        do {
            certificate = try Certificate(pemEncoded: certificatePEM)
        } catch {
            throw ChargerCertificateAuthorityError.unreadableCertificate("\(error)")
        }
        do {
            privateKey = try Certificate.PrivateKey(pemEncoded: privateKeyPEM)
        } catch {
            throw ChargerCertificateAuthorityError.unreadableKey("\(error)")
        }
        guard privateKey.publicKey == certificate.publicKey else { throw ChargerCertificateAuthorityError.keyDoesNotMatchCertificate }
        guard let constraints = try? certificate.extensions.basicConstraints, case .isCertificateAuthority = constraints else {
            throw ChargerCertificateAuthorityError.notACertificateAuthority
        }
        self.certificate = certificate
        self.privateKey = privateKey
    }

    /// The CA's subject, RFC 4514 style, for the log.
    public var subjectDescription: String { "\(certificate.subject)" }

    /// Reads the CA's certificate and key from their files.
    public static func load(certificatePath: String, keyPath: String) throws -> ChargerCertificateAuthority {
        func read(_ path: String) throws -> String {
            do {
                return try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw ChargerCertificateAuthorityError.unreadableFile(path)
            }
        }
        return try ChargerCertificateAuthority(certificatePEM: try read(certificatePath), privateKeyPEM: try read(keyPath))
    }

    /// Why a charger's request is not signed.
    public enum Refusal: Error, Equatable, CustomStringConvertible {
        case unreadableRequest
        case badSignature
        case commonNameMismatch(found: String?)
        case signingFailed(String)

        public var description: String {
            switch self {
            case .unreadableRequest: "the CSR is not a PEM or DER PKCS#10 request"
            case .badSignature: "the CSR's signature does not verify with its public key"
            case .commonNameMismatch(let found): "the CSR's subject CN is \(found.map { "'\($0)'" } ?? "missing"), not the chargePointId"
            case .signingFailed(let why): "the CA could not issue the certificate: \(why)"
            }
        }
    }

    /// A client certificate for the charger `chargePointID` from its CSR (PEM, as OCPP sends it, or base64 DER):
    /// its key and subject, issued by this CA for client authentication. The CSR must be signed by its own key
    /// and its subject's one CN must be the chargePointId, so a charger can only get a certificate in its own name.
    public func sign(csr text: String, chargePointID: String, now: Date = Date()) throws(Refusal) -> Certificate {
        guard let request = Self.parseRequest(text) else { throw .unreadableRequest }
        guard request.publicKey.isValidSignature(request.signature, for: request) else { throw .badSignature }
        let names = Self.commonNames(request.subject)
        guard names == [chargePointID] else { throw .commonNameMismatch(found: names.first) }
        do {
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.clientAuth])
            }
            return try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: request.publicKey,
                notValidBefore: now.addingTimeInterval(-300), notValidAfter: min(now.addingTimeInterval(validity), certificate.notValidAfter),
                issuer: certificate.subject, subject: request.subject, extensions: extensions, issuerPrivateKey: privateKey)
        } catch {
            throw .signingFailed("\(error)")
        }
    }

    /// What CertificateSigned carries, PEM: the charger's certificate, then the CA's when it is an intermediate
    /// (a root the charger must already trust, as its server's, is left out).
    public func chainPEM(_ leaf: Certificate) throws -> String {
        var chain = try leaf.serializeAsPEM().pemString + "\n"
        if certificate.issuer != certificate.subject { chain += try certificate.serializeAsPEM().pemString + "\n" }
        return chain
    }

    static func parseRequest(_ text: String) -> CertificateSigningRequest? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("-----BEGIN") { return try? CertificateSigningRequest(pemEncoded: trimmed) }
        // Some chargers send the DER request base64-encoded without the PEM armour.
        guard let der = Data(base64Encoded: trimmed, options: .ignoreUnknownCharacters) else { return nil }
        return try? CertificateSigningRequest(derEncoded: Array(der))
    }

    /// Every CN in a distinguished name, in order.
    static func commonNames(_ name: DistinguishedName) -> [String] {
        name.flatMap { $0 }.filter { $0.type == .RDNAttributeType.commonName }.map { String($0.value) ?? "" }
    }
}

public enum ChargerCertificateAuthorityError: Error, CustomStringConvertible {
    case unreadableFile(String)
    case unreadableCertificate(String)
    case unreadableKey(String)
    case keyDoesNotMatchCertificate
    case notACertificateAuthority

    public var description: String {
        switch self {
        case .unreadableFile(let path): "cannot read \(path)"
        case .unreadableCertificate(let why): "the CA certificate is not a PEM certificate: \(why)"
        case .unreadableKey(let why): "the CA key is not a PEM private key (PKCS#8, SEC1 or PKCS#1): \(why)"
        case .keyDoesNotMatchCertificate: "the CA key does not belong to the CA certificate"
        case .notACertificateAuthority: "the CA certificate has no basicConstraints CA:TRUE"
        }
    }
}
