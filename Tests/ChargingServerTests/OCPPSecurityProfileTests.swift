@testable import ChargingServer
import ChargingStore
import Crypto
import Foundation
import Testing
import TestSupport
import X509

/// OCPP security profiles 2 and 3: what nginx's TLS headers may prove and from whom, and SignCertificate
/// signed by the operator's CA. `scripts/ocpp-test` (scenario t) runs the same through a real nginx with TLS.
@Suite("OCPP security profiles 2 and 3")
struct OCPPSecurityProfileTests {
    static let subprotocol = "Sec-WebSocket-Protocol: ocpp1.6"

    /// The HTTP status of a charger's handshake with these headers.
    static func handshakeStatus(_ api: TestAPI, _ chargePointID: String, _ headers: [String]) async throws -> String {
        let (socket, head) = try await RawWebSocket.handshake(port: api.client.port!, path: "/ocpp/\(chargePointID)", headers: [subprotocol] + headers)
        let status = String(head.dropFirst("HTTP/1.1 ".count).prefix(3))
        #expect((socket != nil) == (status == "101"), "\(head)")
        return status
    }

    static func basic(_ chargePointID: String, _ password: String = TestServer.pilePassword) -> String {
        OCPPCharger.basic(chargePointID, password)
    }

    /// An instance that believes the TLS headers from loopback (where the test's requests come from), as
    /// one behind `scripts/cluster`'s nginx does.
    static func behindTLSProxy(_ configuration: inout ServerConfiguration) {
        configuration.trustedProxies = .loopback
        configuration.proxyTLSHeaders = true
        configuration.loginDefence.accountFreeFailures = 100
        configuration.loginDefence.addressFreeFailures = 100
    }

    @Test("a pile on profile 2 is refused (403) without the proxy's TLS header and accepted with it; a profile-1 pile takes either")
    func profileTwoNeedsTLS() async throws {
        try await TestServer.run(configure: Self.behindTLSProxy) { api in
            #expect(try await OCPPStore(pool: api.pool).setSecurityProfile(2, pileID: 1))
            #expect(try await Self.handshakeStatus(api, "1", [Self.basic("1")]) == "403")
            #expect(try await Self.handshakeStatus(api, "1", [Self.basic("1"), "X-Chargepile-TLS: off"]) == "403")
            // Two values are not nginx's (it sets the header once): no TLS.
            #expect(try await Self.handshakeStatus(api, "1", [Self.basic("1"), "X-Chargepile-TLS: on", "X-Chargepile-TLS: on"]) == "403")
            // Refusals by profile are not password failures: the throttle counts none of them, only the wrong password.
            let failures = { () async throws -> Int in
                try await api.pool.query("SELECT coalesce(max(failures), 0)::integer AS n FROM auth_throttle WHERE scope = 'account' AND key = 'pile:1'")
                    .first!.decode("n")
            }
            #expect(try await failures() == 0)
            // TLS proves the transport, not the charger: the password is still checked.
            #expect(try await Self.handshakeStatus(api, "1", [Self.basic("1", "wrong"), "X-Chargepile-TLS: on"]) == "401")
            #expect(try await failures() == 1)
            #expect(try await Self.handshakeStatus(api, "1", [Self.basic("1"), "X-Chargepile-TLS: on"]) == "101")
            #expect(try await Self.handshakeStatus(api, "2", [Self.basic("2")]) == "101")
            #expect(try await Self.handshakeStatus(api, "2", [Self.basic("2"), "X-Chargepile-TLS: on"]) == "101")
            // ...but they are in the audit trail.
            let refused: Int = try await api.pool.query("""
                SELECT count(*)::integer AS n FROM auth_events WHERE role = 'pile' AND username = '1' AND outcome = 'failure'
                """).first!.decode("n")
            #expect(refused == 4)
        }
    }

    @Test("a pile on profile 3 needs TLS and a client certificate the proxy verified whose CN is its chargePointId; Basic is then optional")
    func profileThreeNeedsItsCertificate() async throws {
        try await TestServer.run(configure: Self.behindTLSProxy) { api async throws in
            #expect(try await OCPPStore(pool: api.pool).setSecurityProfile(3, pileID: 3))
            let tls = "X-Chargepile-TLS: on"
            let verified = "X-Chargepile-Client-Verify: SUCCESS"
            let cases: [(headers: [String], status: String, why: String)] = [
                ([Self.basic("3")], "403", "no TLS"),
                ([Self.basic("3"), tls], "403", "TLS without a certificate"),
                ([tls, "X-Chargepile-Client-Verify: NONE"], "403", "no certificate"),
                ([tls, "X-Chargepile-Client-Verify: FAILED:certificate has expired", "X-Chargepile-Client-Subject: CN=3"], "403", "failed verification"),
                ([tls, "X-Chargepile-Client-Subject: CN=3"], "403", "a subject without a verification"),
                ([tls, verified, "X-Chargepile-Client-Subject: CN=2,O=chargepile test operator"], "403", "another pile's certificate"),
                ([tls, verified, "X-Chargepile-Client-Subject: CN=3+CN=2"], "403", "two CNs"),
                ([tls, verified, #"X-Chargepile-Client-Subject: CN=3\,x"#], "403", "an escaped comma is part of the CN"),
                ([Self.basic("3"), verified, "X-Chargepile-Client-Subject: CN=3"], "403", "a certificate without TLS"),
                ([tls, verified, "X-Chargepile-Client-Subject: CN=3,O=chargepile test operator", Self.basic("3", "wrong")], "401", "a wrong password"),
                ([tls, verified, "X-Chargepile-Client-Subject: O=chargepile test operator,CN=3"], "101", "its certificate, no Basic"),
                ([tls, verified, #"X-Chargepile-Client-Subject: CN=3,O=Operator\, Inc."#, Self.basic("3")], "101", "its certificate and its password"),
            ]
            for (headers, status, why) in cases {
                #expect(try await Self.handshakeStatus(api, "3", headers) == status, "\(why)")
            }
        }
    }

    @Test("the TLS headers are ignored from a peer that is not a trusted proxy, and from any peer without --proxy-tls-headers")
    func untrustedHeadersIgnored() async throws {
        let claim = ["X-Chargepile-TLS: on", "X-Chargepile-Client-Verify: SUCCESS", "X-Chargepile-Client-Subject: CN=1", Self.basic("1")]
        // The proxies are elsewhere: this loopback client reaches the instance directly.
        try await TestServer.run(configure: { configuration in
            configuration.trustedProxies = try! TrustedNetworks(["10.9.9.9"])
            configuration.proxyTLSHeaders = true
        }) { api async throws in
            #expect(try await OCPPStore(pool: api.pool).setSecurityProfile(2, pileID: 1))
            #expect(try await Self.handshakeStatus(api, "1", claim) == "403")
        }
        // The peer is a trusted proxy, but nobody said the proxy sets the TLS headers.
        try await TestServer.run(configure: { $0.trustedProxies = .loopback }) { api async throws in
            #expect(try await OCPPStore(pool: api.pool).setSecurityProfile(2, pileID: 1))
            #expect(try await Self.handshakeStatus(api, "1", claim) == "403")
        }
    }

    @Test("nginx's RFC 2253 subjects are read with their escapes")
    func distinguishedNames() {
        #expect(DistinguishedNameText.attributes("CN=CP-1,O=chargepile test operator")
            == [.init(type: "CN", value: "CP-1"), .init(type: "O", value: "chargepile test operator")])
        #expect(DistinguishedNameText.attributes(#"CN=a\,b\+c,O=x"#) == [.init(type: "CN", value: "a,b+c"), .init(type: "O", value: "x")])
        #expect(DistinguishedNameText.attributes(#"CN=\C3\A9t\C3\A9"#) == [.init(type: "CN", value: "été")])
        #expect(DistinguishedNameText.attributes("CN=1+OU=x") == [.init(type: "CN", value: "1"), .init(type: "OU", value: "x")])
        #expect(DistinguishedNameText.attributes("") == nil)
        #expect(DistinguishedNameText.attributes("CN=1,") == nil)
        #expect(DistinguishedNameText.attributes("no equals sign") == nil)
        #expect(DistinguishedNameText.attributes(#"CN=\FF"#) == nil, "not UTF-8")
    }

    // MARK: SignCertificate

    /// A test operator CA made here, with its key.
    static func makeCA() throws -> (certificate: Certificate, pem: String, keyPEM: String) {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { OrganizationName("chargepile test operator"); CommonName("test CA") }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: now - 3600, notValidAfter: now + 86400,
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true))
            },
            issuerPrivateKey: .init(key))
        return (certificate, try certificate.serializeAsPEM().pemString, key.pemRepresentation)
    }

    /// A charger's CSR for `commonName`, PEM, with the key it holds.
    static func makeCSR(commonName: String) throws -> (pem: String, key: P256.Signing.PrivateKey) {
        let key = P256.Signing.PrivateKey()
        let csr = try CertificateSigningRequest(
            version: .v1, subject: try DistinguishedName { OrganizationName("chargepile test operator"); CommonName(commonName) },
            privateKey: .init(key), attributes: .init())
        return (try csr.serializeAsPEM().pemString, key)
    }

    static func json(_ text: String) -> String {
        String(data: try! JSONSerialization.data(withJSONObject: ["csr": text]), encoding: .utf8)!
    }

    @Test("with the operator's CA, a CSR in the charger's own name is Accepted and answered with CertificateSigned: a chain that verifies against the CA for the charger's key")
    func signCertificate() async throws {
        let ca = try Self.makeCA()
        let authority = try ChargerCertificateAuthority(certificatePEM: ca.pem, privateKeyPEM: ca.keyPEM)
        try await TestServer.run(configure: { $0.ocppCertificateAuthority = authority }) { api in
            let charger = try await OCPPCharger.connect(api, chargePointID: "4")
            _ = try await charger.call("BootNotification", #"{"chargePointVendor":"ACME","chargePointModel":"X1"}"#)
            let request = try Self.makeCSR(commonName: "4")
            let answer = try await charger.call("SignCertificate", Self.json(request.pem))
            #expect(answer["status"] as? String == "Accepted")

            let call = try await charger.expectCall()
            #expect(call.action == "CertificateSigned")
            let chain = try #require(call.payload["certificateChain"] as? String)
            let certificates = try chain.components(separatedBy: "-----END CERTIFICATE-----").dropLast()
                .map { try Certificate(pemEncoded: $0.trimmingCharacters(in: .whitespacesAndNewlines) + "\n-----END CERTIFICATE-----") }
            #expect(certificates.count == 1, "the CA is a root: the charger's certificate alone")
            let leaf = try #require(certificates.first)
            #expect(leaf.publicKey == Certificate.PublicKey(request.key.publicKey), "issued for the charger's own key")
            #expect(ChargerCertificateAuthority.commonNames(leaf.subject) == ["4"])
            #expect(leaf.issuer == ca.certificate.subject)
            #expect(try leaf.extensions.extendedKeyUsage?.contains(.clientAuth) == true)
            var verifier = Verifier(rootCertificates: CertificateStore([ca.certificate])) { RFC5280Policy() }
            guard case .validCertificate = await verifier.validate(leaf: leaf, intermediates: CertificateStore([])) else {
                Issue.record("the chain does not verify against the CA")
                return
            }
            // Another CA's root does not vouch for it.
            var stranger = Verifier(rootCertificates: CertificateStore([try Self.makeCA().certificate])) { RFC5280Policy() }
            guard case .couldNotValidate = await stranger.validate(leaf: leaf, intermediates: CertificateStore([])) else {
                Issue.record("a stranger's CA verified the chain")
                return
            }
            try await charger.reply(call.id, #"{"status":"Accepted"}"#)

            let stored: String = try await api.pool.query("""
                SELECT answer || ':' || (certificate = \(chain))::text AS stored FROM ocpp_certificate_requests WHERE pile_id = 4
                """).first!.decode("stored")
            #expect(stored == "Accepted:true")
            // The charger's answer is kept on the call's command row.
            try await eventually("the CertificateSigned answer is recorded") {
                let answers: [String] = try await api.pool.query("""
                    SELECT answer::text AS answer FROM pile_commands
                    WHERE pile_id = 4 AND instruction::text LIKE '%CertificateSigned%' AND state = 'written'
                    """).map { try $0.decode("answer") }
                return answers.count == 1 && answers[0].contains("Accepted")
            }
        }
    }

    @Test("a CSR for another chargePointId, a forged signature or garbage is Rejected, kept with the reason, and no CertificateSigned follows; without a CA every CSR is Rejected")
    func signCertificateRefusals() async throws {
        let ca = try Self.makeCA()
        let authority = try ChargerCertificateAuthority(certificatePEM: ca.pem, privateKeyPEM: ca.keyPEM)
        // A CSR whose signature no longer matches what it signs (its last byte, in the signature, flipped),
        // sent as base64 DER as some chargers do.
        let body = try Self.makeCSR(commonName: "4").pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        var der = try #require(Data(base64Encoded: body))
        der[der.count - 1] ^= 0x01
        #expect(throws: ChargerCertificateAuthority.Refusal.badSignature) {
            try authority.sign(csr: der.base64EncodedString(), chargePointID: "4")
        }
        #expect(throws: ChargerCertificateAuthority.Refusal.commonNameMismatch(found: "5")) {
            try authority.sign(csr: try Self.makeCSR(commonName: "5").pem, chargePointID: "4")
        }
        #expect(throws: ChargerCertificateAuthority.Refusal.unreadableRequest) { try authority.sign(csr: "not a CSR", chargePointID: "4") }

        try await TestServer.run(configure: { $0.ocppCertificateAuthority = authority }) { api in
            let charger = try await OCPPCharger.connect(api, chargePointID: "4")
            _ = try await charger.call("BootNotification", #"{"chargePointVendor":"ACME","chargePointModel":"X1"}"#)
            for csr in [try Self.makeCSR(commonName: "5").pem, "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----"] {
                #expect(try await charger.call("SignCertificate", Self.json(csr))["status"] as? String == "Rejected")
            }
            // Nothing followed: the next message is the answer to the charger's own Heartbeat.
            _ = try await charger.call("Heartbeat", "{}")
            let refusals: [String] = try await api.pool.query("""
                SELECT answer || ':' || coalesce(refusal, '-') || ':' || (certificate IS NULL)::text AS r FROM ocpp_certificate_requests
                WHERE pile_id = 4 ORDER BY id
                """).map { try $0.decode("r") }
            #expect(refusals.count == 2)
            #expect(refusals.first?.hasPrefix("Rejected:the CSR's subject CN is '5'") == true, "\(refusals)")
            #expect(refusals.last?.hasPrefix("Rejected:the CSR is not") == true, "\(refusals)")
            #expect(refusals.allSatisfy { $0.hasSuffix(":true") })
        }
        try await TestServer.run { api in
            let charger = try await OCPPCharger.connect(api, chargePointID: "4")
            #expect(try await charger.call("SignCertificate", Self.json(try Self.makeCSR(commonName: "4").pem))["status"] as? String == "Rejected")
            let refusal: String = try await api.pool.query("SELECT refusal FROM ocpp_certificate_requests WHERE pile_id = 4").first!.decode("refusal")
            #expect(refusal == "no CA configured")
        }
    }
}
