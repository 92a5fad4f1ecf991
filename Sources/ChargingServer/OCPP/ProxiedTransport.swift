import Foundation
import HTTPTypes
import NIOCore

/// How a charger's connection reached the proxy in front of chargepile: over TLS or not, and with which
/// client certificate. TLS ends at nginx, so only nginx knows; it says so in three headers that it sets
/// on every request, overwriting (or, when empty, dropping) whatever a client sent under those names:
///
///     X-Chargepile-TLS: on                       ($https)
///     X-Chargepile-Client-Verify: SUCCESS        ($ssl_client_verify: SUCCESS, FAILED:reason, NONE)
///     X-Chargepile-Client-Subject: CN=CP-1,O=…   ($ssl_client_s_dn, RFC 2253)
///
/// They are believed only when the instance is told its proxy sets them (`--proxy-tls-headers`) and the
/// socket's peer is one of its `--trusted-proxy` addresses; from anyone else they are ignored, so a client
/// that reaches an instance directly never counts as TLS.
struct ProxiedTransport: Equatable, Sendable {
    /// The connection arrived over TLS.
    var tls: Bool
    /// `$ssl_client_verify` as the proxy reported it (nil without TLS or without the header).
    var clientVerification: String?
    /// The CN of the client certificate's subject, when the proxy verified it (`SUCCESS`) and it has exactly one.
    var verifiedCommonName: String?

    static let plain = ProxiedTransport(tls: false)

    static let tlsHeader = HTTPField.Name("X-Chargepile-TLS")!
    static let clientVerifyHeader = HTTPField.Name("X-Chargepile-Client-Verify")!
    static let clientSubjectHeader = HTTPField.Name("X-Chargepile-Client-Subject")!

    /// What the headers say, if their sender may say it.
    static func resolve(headers: HTTPFields, peer: SocketAddress?, trust: ProxyTLSTrust) -> ProxiedTransport {
        guard trust.headersSet, let peerAddress = peer?.ipAddress, trust.proxies.contains(peerAddress) else { return .plain }
        // One value each: a header repeated is not nginx's (it sets each once) and proves nothing.
        let tlsValues = headers[values: tlsHeader]
        guard tlsValues.count == 1, tlsValues[0].lowercased() == "on" else { return .plain }
        let verifications = headers[values: clientVerifyHeader]
        let verification = verifications.count == 1 ? verifications[0] : nil
        var transport = ProxiedTransport(tls: true, clientVerification: verification)
        let subjects = headers[values: clientSubjectHeader]
        if verification == "SUCCESS", subjects.count == 1, let names = DistinguishedNameText.attributes(subjects[0]) {
            let commonNames = names.filter { $0.type.uppercased() == "CN" || $0.type == "2.5.4.3" }.map(\.value)
            if commonNames.count == 1 { transport.verifiedCommonName = commonNames[0] }
        }
        return transport
    }

    /// Why this connection may not carry a pile with `securityProfile` named `chargePointID`; nil when it may.
    /// Profile 1 takes any connection; 2 needs TLS; 3 needs TLS and a client certificate the proxy verified
    /// whose subject CN is the chargePointId.
    func refusal(securityProfile: Int, chargePointID: String) -> String? {
        guard securityProfile >= 2 else { return nil }
        guard tls else { return "security profile \(securityProfile) needs TLS (wss://)" }
        guard securityProfile >= 3 else { return nil }
        guard clientVerification == "SUCCESS" else {
            return "security profile 3 needs a client certificate verified by the proxy (verification: \(clientVerification ?? "none"))"
        }
        guard verifiedCommonName == chargePointID else {
            return "the client certificate's CN (\(verifiedCommonName ?? "none")) is not the chargePointId"
        }
        return nil
    }
}

/// Whether the TLS headers of `ProxiedTransport` are believed, and from which peers.
public struct ProxyTLSTrust: Sendable {
    /// The proxy sets (and clears) the headers on every request: `--proxy-tls-headers`.
    public var headersSet: Bool
    /// The peers they are believed from: the `--trusted-proxy` addresses.
    public var proxies: TrustedNetworks

    public init(headersSet: Bool = false, proxies: TrustedNetworks = .none) {
        self.headersSet = headersSet
        self.proxies = proxies
    }
}

/// RFC 2253 distinguished names as nginx prints them (`CN=CP-1,O=Example\, Inc.`), read into their
/// attributes: `\` escapes a special character or gives a byte in two hex digits; `+` joins the
/// attributes of one RDN, `,` separates RDNs.
enum DistinguishedNameText {
    struct Attribute: Equatable {
        var type: String
        var value: String
    }

    /// nil when the text is not a well-formed name.
    static func attributes(_ text: String) -> [Attribute]? {
        var attributes: [Attribute] = []
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            guard let equals = bytes.firstIndex(of: UInt8(ascii: "=")) else { return nil }
            let type = String(decoding: bytes[bytes.startIndex..<equals], as: UTF8.self).trimmingCharacters(in: .whitespaces)
            guard !type.isEmpty else { return nil }
            bytes = bytes[(equals + 1)...]
            var value: [UInt8] = []
            var ended = false
            while let byte = bytes.first, !ended {
                bytes = bytes.dropFirst()
                switch byte {
                case UInt8(ascii: "\\"):
                    guard let next = bytes.first else { return nil }
                    if let high = hexValue(next), bytes.count >= 2, let low = hexValue(bytes[bytes.startIndex + 1]) {
                        value.append(high << 4 | low)
                        bytes = bytes.dropFirst(2)
                    } else {
                        value.append(next)
                        bytes = bytes.dropFirst()
                    }
                case UInt8(ascii: ","), UInt8(ascii: "+"):
                    ended = true
                    guard !bytes.isEmpty else { return nil }  // a trailing separator
                default:
                    value.append(byte)
                }
            }
            guard let decoded = String(validating: value, as: UTF8.self) else { return nil }
            attributes.append(Attribute(type: type, value: decoded))
        }
        return attributes.isEmpty ? nil : attributes
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
