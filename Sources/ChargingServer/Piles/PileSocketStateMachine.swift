import NIOCore
import NIOWebSocket

/// The WebSocket protocol of one pile's socket, without I/O: frames and ping ticks in,
/// actions out (`PileSocketHandler` performs them). Text messages are joined from their
/// fragments (at most `maxMessageSize` bytes) and must be UTF-8; client frames must be
/// masked; only text is accepted; a pile that leaves two pings in a row unanswered is
/// dropped (only a pong carrying our last ping's data answers it); the pile's own pings are
/// answered at most `maxPongsPerInterval` times per ping interval; a pile that stops reading
/// (our writes back up) is closed with 1008; after our close frame, data is ignored.
struct PileSocketStateMachine {
    enum Action: Equatable {
        case none
        /// A complete text message for the station.
        case deliver(String)
        /// A control frame (ping or pong) to send.
        case send(WebSocketOpcode, ByteBuffer)
        /// Send our close frame; hang up now, or when the pile answers (or a timeout passes).
        case close(WebSocketErrorCode, reason: String, hangUpNow: Bool)
        /// Close the connection.
        case hangUp
    }

    private enum State { case open, closing, closed }

    /// A client's pings answered per ping interval; more are ignored, so a ping flood costs no memory.
    static let maxPongsPerInterval = 8

    let maxMessageSize: Int
    private var state = State.open
    private var partialMessage: ByteBuffer?
    private var unansweredPings = 0
    private var pingsSent: UInt64 = 0
    private var pongsThisInterval = 0

    init(maxMessageSize: Int) { self.maxMessageSize = maxMessageSize }

    /// Text may be written to the pile.
    var isOpen: Bool { state == .open }

    mutating func received(_ frame: WebSocketFrame) -> Action {
        // RFC 6455 §5.1: a client masks every frame.
        guard frame.maskKey != nil else { return close(.protocolError, "unmasked frame") }
        switch frame.opcode {
        case .connectionClose:
            // Answer with 1000: echoing the pile's code could send back one never to be sent (1005).
            return state == .open ? close(.normalClosure, "", hangUpNow: true) : .hangUp
        case .ping:
            guard frame.fin, frame.length <= 125 else { return close(.protocolError, "bad ping") }
            guard state == .open, pongsThisInterval < Self.maxPongsPerInterval else { return .none }
            pongsThisInterval += 1
            return .send(.pong, frame.unmaskedData)
        case .pong:
            // Only the answer to our latest ping proves the pile is there; an unsolicited pong proves nothing.
            if frame.unmaskedData == Self.pingData(pingsSent) { unansweredPings = 0 }
            return .none
        case .binary:
            return state == .open ? close(.unacceptableData, "text frames only") : .none
        case .text, .continuation:
            return state == .open ? receivedText(frame) : .none
        default:
            return close(.protocolError, "unknown opcode")
        }
    }

    private mutating func receivedText(_ frame: WebSocketFrame) -> Action {
        var message: ByteBuffer
        switch (frame.opcode, partialMessage) {
        case (.text, nil):
            message = frame.unmaskedData
        case (.continuation, .some(let partial)):
            guard partial.readableBytes + frame.length <= maxMessageSize else { return close(.messageTooLarge, "message too large") }
            message = partial
            var fragment = frame.unmaskedData
            message.writeBuffer(&fragment)
        default:
            return close(.protocolError, "unexpected fragment")
        }
        guard frame.fin else {
            partialMessage = message
            return .none
        }
        partialMessage = nil
        guard let text = String(validating: message.readableBytesView, as: UTF8.self) else {
            return close(.dataInconsistentWithMessage, "text is not UTF-8")
        }
        return .deliver(text)
    }

    /// The ping timer fired.
    mutating func pingDue() -> Action {
        guard state == .open else { return .none }
        pongsThisInterval = 0
        guard unansweredPings < 2 else { return close(.goingAway, "ping timeout", hangUpNow: true) }
        unansweredPings += 1
        pingsSent += 1
        return .send(.ping, Self.pingData(pingsSent))
    }

    /// Our writes to the pile back up: it stopped reading. Closed at once, not buffered for.
    mutating func stalled() -> Action {
        close(.policyViolation, "not reading", hangUpNow: true)
    }

    /// Each ping of ours carries its number, so its pong can be told from any other.
    static func pingData(_ number: UInt64) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(number)
        return buffer
    }

    /// The station closes the socket (replaced, offline, stopping, flooded…).
    mutating func closeRequested(_ code: WebSocketErrorCode, reason: String) -> Action {
        state == .open ? close(code, reason) : .none
    }

    mutating func channelClosed() {
        state = .closed
        partialMessage = nil
    }

    private mutating func close(_ code: WebSocketErrorCode, _ reason: String, hangUpNow: Bool = false) -> Action {
        guard state == .open else { return .hangUp }
        state = .closing
        partialMessage = nil
        return .close(code, reason: reason, hangUpNow: hangUpNow)
    }
}
