import Foundation
import NIOCore

/// A set of addresses and CIDR blocks (IPv4 and IPv6): the proxies whose `X-Forwarded-For`
/// is believed, and the clients that may read `/metrics`.
public struct TrustedNetworks: Sendable, Equatable {
    struct Block: Sendable, Equatable {
        var bytes: [UInt8]
        var prefix: Int

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == bytes.count else { return false }
            var remaining = prefix
            for index in bytes.indices where remaining > 0 {
                let bits = min(8, remaining)
                let mask: UInt8 = bits == 8 ? 0xff : ~(0xff >> UInt8(bits))
                if address[index] & mask != bytes[index] & mask { return false }
                remaining -= bits
            }
            return true
        }
    }

    var blocks: [Block]

    public static let none = TrustedNetworks(blocks: [])
    public static let loopback = try! TrustedNetworks(["127.0.0.0/8", "::1"])

    init(blocks: [Block]) { self.blocks = blocks }

    /// From entries such as `127.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`. Throws on a malformed one.
    public init(_ entries: [String]) throws {
        var blocks: [Block] = []
        for raw in entries {
            let entry = raw.trimmingCharacters(in: .whitespaces)
            if entry.isEmpty { continue }
            let parts = entry.split(separator: "/", maxSplits: 1).map(String.init)
            guard let bytes = Self.parse(parts[0]) else { throw TrustedNetworksError(entry: entry) }
            var prefix = bytes.count * 8
            if parts.count == 2 {
                guard let value = Int(parts[1]), (0...prefix).contains(value) else { throw TrustedNetworksError(entry: entry) }
                prefix = value
            }
            blocks.append(Block(bytes: bytes, prefix: prefix))
        }
        self.blocks = blocks
    }

    /// Comma- or space-separated entries (the environment's form).
    public static func split(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
    }

    public var isEmpty: Bool { blocks.isEmpty }

    public func contains(_ address: String) -> Bool {
        guard let bytes = Self.parse(address) else { return false }
        return blocks.contains { $0.contains(bytes) } || (bytes.count == 16 && Self.mappedIPv4(bytes).map { v4 in
            blocks.contains { $0.contains(v4) }
        } ?? false)
    }

    /// IPv4 (4 bytes) or IPv6 (16 bytes); nil when the text is neither.
    static func parse(_ text: String) -> [UInt8]? {
        var text = text
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        if let zone = text.firstIndex(of: "%") { text = String(text[..<zone]) }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    /// `::ffff:a.b.c.d` → `a.b.c.d`.
    static func mappedIPv4(_ bytes: [UInt8]) -> [UInt8]? {
        guard bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff else { return nil }
        return Array(bytes[12..<16])
    }
}

public struct TrustedNetworksError: Error, CustomStringConvertible {
    public let entry: String
    public var description: String { "not an IP address or CIDR block: \(entry)" }
}

/// Who a request comes from: the socket's peer, or, when that peer is a trusted proxy, the
/// nearest address in `X-Forwarded-For` that is not itself a trusted proxy.
enum ClientAddress {
    static func resolve(peer: SocketAddress?, forwardedFor: [String], trustedProxies: TrustedNetworks) -> String {
        let peerText = peer.flatMap(\.ipAddress) ?? "unknown"
        guard !trustedProxies.isEmpty, trustedProxies.contains(peerText) else { return peerText }
        // Right to left: each hop appended the address it saw; the first untrusted one is the client.
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        var client = peerText
        for hop in hops.reversed() {
            guard TrustedNetworks.parse(hop) != nil else { break }  // garbage: stop at the last hop we can vouch for
            client = hop
            if !trustedProxies.contains(hop) { break }
        }
        return client
    }
}
