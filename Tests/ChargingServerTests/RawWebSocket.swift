import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A bare WebSocket client over a blocking POSIX socket, for the protocol corners a real
/// client library never produces: unanswered pings, unmasked or fragmented frames, bad UTF-8.
/// Every blocking call runs on its own thread, never on the cooperative pool.
final class RawWebSocket: @unchecked Sendable {
    struct Frame: Equatable {
        var opcode: UInt8
        var payload: [UInt8]
        var text: String { String(decoding: payload, as: UTF8.self) }
        /// The status code of a close frame.
        var closeCode: Int? { opcode == 0x8 && payload.count >= 2 ? Int(payload[0]) << 8 | Int(payload[1]) : nil }
    }

    static let text: UInt8 = 0x1, continuation: UInt8 = 0x0, close: UInt8 = 0x8, ping: UInt8 = 0x9, pong: UInt8 = 0xA

    private let socket: Int32

    private init(socket: Int32) { self.socket = socket }

    deinit { Glibc.close(socket) }

    /// Connects to 127.0.0.1:`port` and upgrades `path`; throws unless the answer is 101
    /// (with the whole answer in the error). `key: nil` leaves out `Sec-WebSocket-Key`.
    static func open(
        port: Int, path: String, key: String? = "dGhlIHNhbXBsZSBub25jZQ==", headers: [String] = []
    ) async throws -> RawWebSocket {
        let (connection, head) = try await handshake(port: port, path: path, key: key, headers: headers)
        guard let connection else { throw TestFailure("not upgraded: \(head)") }
        return connection
    }

    /// Sends an upgrade request with `headers` (`Name: value` lines); the socket when the answer
    /// is 101, and the answer's head (the whole answer when refused).
    static func handshake(
        port: Int, path: String, key: String? = "dGhlIHNhbXBsZSBub25jZQ==", headers: [String] = []
    ) async throws -> (RawWebSocket?, head: String) {
        let connection = try await connect(port: port)
        return try await onThread {
            try connection.writeAll(Array("""
                GET \(path) HTTP/1.1\r
                Host: 127.0.0.1:\(port)\r
                Upgrade: websocket\r
                Connection: Upgrade\r
                \(key.map { "Sec-WebSocket-Key: \($0)\r\n" } ?? "")\(headers.map { $0 + "\r\n" }.joined())Sec-WebSocket-Version: 13\r
                \r

                """.utf8))
            var head: [UInt8] = []
            while !head.ends(with: Array("\r\n\r\n".utf8)) { head += try connection.read(count: 1) }
            guard String(decoding: head, as: UTF8.self).hasPrefix("HTTP/1.1 101") else {
                while let byte = try? connection.read(count: 1) { head += byte }
                return (nil, String(decoding: head, as: UTF8.self))
            }
            return (connection, String(decoding: head, as: UTF8.self))
        }
    }

    /// A TCP connection to 127.0.0.1:`port` that has sent nothing yet.
    static func connect(port: Int) async throws -> RawWebSocket {
        try await onThread {
            let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw TestFailure("socket() failed") }
            let connection = RawWebSocket(socket: fd)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { throw TestFailure("connect() failed") }
            try connection.setReceiveTimeout(.seconds(20))
            return connection
        }
    }

    /// Writes raw bytes (an HTTP request of any shape).
    func write(_ bytes: [UInt8]) async throws {
        try await Self.onThread { try self.writeAll(bytes) }
    }

    /// Everything the server sends until it closes the connection; nil when it is still open after `timeout`.
    func readUntilClosed(timeout: Duration = .seconds(20)) async throws -> String? {
        try await Self.onThread {
            try self.setReceiveTimeout(timeout)
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let received = buffer.withUnsafeMutableBytes { Glibc.recv(self.socket, $0.baseAddress, $0.count, 0) }
                if received == 0 { return String(decoding: bytes, as: UTF8.self) }
                if received < 0 { return errno == ECONNRESET ? String(decoding: bytes, as: UTF8.self) : nil }
                bytes += buffer[0..<received]
            }
        }
    }

    /// Sends `count` copies of one frame in a single write, as a flooding client would.
    func send(_ opcode: UInt8, _ payload: [UInt8], times count: Int) async throws {
        let frame = Self.frame(opcode, payload, fin: true, masked: true)
        let bytes = Array((0..<count).map { _ in frame }.joined())
        try await Self.onThread { try self.writeAll(bytes) }
    }

    /// Sends one frame; a client masks its frames unless told not to (RFC 6455 §5.3).
    func send(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, masked: Bool = true) async throws {
        let frame = Self.frame(opcode, payload, fin: fin, masked: masked)
        try await Self.onThread { try self.writeAll(frame) }
    }

    func send(text: String, fin: Bool = true) async throws { try await send(Self.text, Array(text.utf8), fin: fin) }

    /// Sends text frames in one write, so they reach the server as one burst.
    func send(burst texts: [String]) async throws {
        let bytes = texts.flatMap { Self.frame(Self.text, Array($0.utf8), fin: true, masked: true) }
        try await Self.onThread { try self.writeAll(bytes) }
    }

    private static func frame(_ opcode: UInt8, _ payload: [UInt8], fin: Bool, masked: Bool) -> [UInt8] {
        var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        let maskBit: UInt8 = masked ? 0x80 : 0
        switch payload.count {
        case ..<126: frame.append(maskBit | UInt8(payload.count))
        case ...0xFFFF: frame += [maskBit | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default: frame += [maskBit | 127] + (0..<8).reversed().map { UInt8((payload.count >> ($0 * 8)) & 0xFF) }
        }
        guard masked else { return frame + payload }
        let key: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        return frame + key + payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
    }

    /// Answers the next `count` pings with pongs, all on one thread; returns when the last pong
    /// was sent. Any other frame is a test failure.
    func answerPings(_ count: Int) async throws -> ContinuousClock.Instant {
        try await Self.onThread {
            for _ in 0..<count {
                guard let ping = try self.readFrame(), ping.opcode == Self.ping else { throw TestFailure("expected a ping") }
                try self.writeAll(Self.frame(Self.pong, ping.payload, fin: true, masked: true))
            }
            return .now
        }
    }

    /// The next frame that is not a ping, answering pings before it on the reading thread.
    func receiveAnsweringPings(timeout: Duration = .seconds(20)) async throws -> Frame? {
        try await Self.onThread {
            try self.setReceiveTimeout(timeout)
            while let frame = try self.readFrame() {
                guard frame.opcode == Self.ping else { return frame }
                try self.writeAll(Self.frame(Self.pong, frame.payload, fin: true, masked: true))
            }
            return nil
        }
    }

    /// The next frame from the server; nil when the server closed the connection.
    func receive(timeout: Duration = .seconds(20)) async throws -> Frame? {
        try await Self.onThread {
            try self.setReceiveTimeout(timeout)
            return try self.readFrame()
        }
    }

    private func readFrame() throws -> Frame? {
        guard let header = try? read(count: 2) else { return nil }
        var length = Int(header[1] & 0x7F)
        if length == 126 { length = try read(count: 2).reduce(0) { $0 << 8 | Int($1) } }
        if length == 127 { length = try read(count: 8).reduce(0) { $0 << 8 | Int($1) } }
        return Frame(opcode: header[0] & 0x0F, payload: try read(count: length))
    }

    private func setReceiveTimeout(_ timeout: Duration) throws {
        let (seconds, attoseconds) = timeout.components
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        guard setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size)) == 0 else {
            throw TestFailure("setsockopt failed")
        }
    }

    private func writeAll(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw TestFailure("send failed") }
            offset += written
        }
    }

    private func read(count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let received = bytes[offset...].withUnsafeMutableBytes { Glibc.recv(socket, $0.baseAddress, $0.count, 0) }
            guard received > 0 else { throw TestFailure(received == 0 ? "closed" : "recv timed out") }
            offset += received
        }
        return bytes
    }

    private static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}

private extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
