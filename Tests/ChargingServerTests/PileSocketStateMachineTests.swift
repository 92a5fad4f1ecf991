@testable import ChargingServer
import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket
import PileRouting
import Testing

/// The pile socket's protocol rules, frame by frame, without a network or a database.
@Suite("Pile socket state machine")
struct PileSocketStateMachineTests {
    private static func frame(_ opcode: WebSocketOpcode, _ text: String = "", fin: Bool = true, masked: Bool = true) -> WebSocketFrame {
        frame(opcode, Array(text.utf8), fin: fin, masked: masked)
    }

    private static func frame(_ opcode: WebSocketOpcode, _ bytes: [UInt8], fin: Bool = true, masked: Bool = true) -> WebSocketFrame {
        let key: WebSocketMaskingKey? = masked ? [1, 2, 3, 4] : nil
        var data = ByteBuffer(bytes: bytes)
        if let key { data.webSocketMask(key) }
        return WebSocketFrame(fin: fin, opcode: opcode, maskKey: key, data: data)
    }

    @Test("a masked text frame is delivered; fragments are joined in order")
    func textAndFragments() {
        var machine = PileSocketStateMachine(maxMessageSize: 64)
        #expect(machine.received(Self.frame(.text, #"{"type":"ack"}"#)) == .deliver(#"{"type":"ack"}"#))
        #expect(machine.received(Self.frame(.text, "ab", fin: false)) == .none)
        #expect(machine.received(Self.frame(.continuation, "cd", fin: false)) == .none)
        #expect(machine.received(Self.frame(.continuation, "ef")) == .deliver("abcdef"))
        #expect(machine.isOpen)
    }

    @Test("bad frames close with the RFC's codes, once; after our close frame data is ignored")
    func refusals() {
        let cases: [(WebSocketFrame, WebSocketErrorCode)] = [
            (Self.frame(.text, "{}", masked: false), .protocolError),
            (Self.frame(.binary, "{}"), .unacceptableData),
            (Self.frame(.text, [0xC3, 0x28]), .dataInconsistentWithMessage),
            (Self.frame(.continuation, "orphan"), .protocolError),
            (Self.frame(.ping, String(repeating: "p", count: 126)), .protocolError),
        ]
        for (frame, code) in cases {
            var machine = PileSocketStateMachine(maxMessageSize: 64)
            guard case .close(code, _, hangUpNow: false) = machine.received(frame) else {
                Issue.record("\(frame.opcode) not closed with \(code)")
                continue
            }
            #expect(!machine.isOpen)
            #expect(machine.received(Self.frame(.text, "late")) == .none)
            #expect(machine.closeRequested(.normalClosure, reason: "again") == .none)
        }
    }

    @Test("a message growing past the limit through its fragments closes with 1009")
    func oversizedMessage() {
        var machine = PileSocketStateMachine(maxMessageSize: 8)
        #expect(machine.received(Self.frame(.text, "12345", fin: false)) == .none)
        #expect(machine.received(Self.frame(.continuation, "6789")) == .close(.messageTooLarge, reason: "message too large", hangUpNow: false))
    }

    @Test("pings are answered with their data; two unanswered pings of ours drop the pile; only the pong of our last ping resets the count")
    func liveness() {
        var machine = PileSocketStateMachine(maxMessageSize: 64)
        #expect(machine.received(Self.frame(.ping, "hi")) == .send(.pong, ByteBuffer(string: "hi")))
        #expect(machine.pingDue() == .send(.ping, PileSocketStateMachine.pingData(1)))
        #expect(machine.pingDue() == .send(.ping, PileSocketStateMachine.pingData(2)))
        // Unsolicited, or answering an older ping: not proof of life.
        #expect(machine.received(Self.frame(.pong)) == .none)
        #expect(machine.received(Self.frame(.pong, Array(PileSocketStateMachine.pingData(1).readableBytesView))) == .none)
        #expect(machine.pingDue() == .close(.goingAway, reason: "ping timeout", hangUpNow: true))

        var answered = PileSocketStateMachine(maxMessageSize: 64)
        #expect(answered.pingDue() == .send(.ping, PileSocketStateMachine.pingData(1)))
        #expect(answered.pingDue() == .send(.ping, PileSocketStateMachine.pingData(2)))
        #expect(answered.received(Self.frame(.pong, Array(PileSocketStateMachine.pingData(2).readableBytesView))) == .none)
        #expect(answered.pingDue() == .send(.ping, PileSocketStateMachine.pingData(3)))
        #expect(answered.pingDue() == .send(.ping, PileSocketStateMachine.pingData(4)))
        #expect(answered.pingDue() == .close(.goingAway, reason: "ping timeout", hangUpNow: true))
        #expect(answered.pingDue() == .none)
    }

    @Test("a ping flood is answered at a bounded rate: at most maxPongsPerInterval pongs per ping interval")
    func pingFlood() {
        var machine = PileSocketStateMachine(maxMessageSize: 64)
        let pongs = (0..<1000).filter { _ in machine.received(Self.frame(.ping, "x")) != .none }.count
        #expect(pongs == PileSocketStateMachine.maxPongsPerInterval)
        _ = machine.pingDue()
        #expect(machine.received(Self.frame(.ping, "x")) == .send(.pong, ByteBuffer(string: "x")))
    }

    @Test("a pile that stops reading is closed with 1008 at once when our output backs up")
    func stalledReader() throws {
        let channel = EmbeddedChannel()
        let connection = PileConnection(pileID: 1, channel: channel, session: IgnoredSession(), writeTimeout: .seconds(1),
                                        logger: Logger(label: "test"))
        try channel.pipeline.syncOperations.addHandler(
            PileSocketHandler(connection: connection, maxMessageSize: 64, pingInterval: .seconds(20)))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        var close = try #require(try channel.readOutbound(as: WebSocketFrame.self))
        #expect(close.opcode == .connectionClose)
        #expect(close.data.readWebSocketErrorCode() == .policyViolation)
        #expect(!channel.isActive)
    }

    @Test("the pile's close is answered with 1000 and hung up; after ours, its answer hangs up")
    func closeHandshake() {
        var pileCloses = PileSocketStateMachine(maxMessageSize: 64)
        #expect(pileCloses.received(Self.frame(.connectionClose, [0x03, 0xED])) == .close(.normalClosure, reason: "", hangUpNow: true))

        var weClose = PileSocketStateMachine(maxMessageSize: 64)
        #expect(weClose.closeRequested(.replaced, reason: "replaced") == .close(.replaced, reason: "replaced", hangUpNow: false))
        #expect(weClose.pingDue() == .none)
        #expect(weClose.received(Self.frame(.connectionClose)) == .hangUp)
    }

    @Test("the handler pings on its event loop's timer and hangs up on a silent pile")
    func handlerPingsOnTheEventLoop() throws {
        let channel = EmbeddedChannel()
        let connection = PileConnection(pileID: 1, channel: channel, session: IgnoredSession(), writeTimeout: .seconds(1),
                                        logger: Logger(label: "test"))
        try channel.pipeline.syncOperations.addHandler(
            PileSocketHandler(connection: connection, maxMessageSize: 64, pingInterval: .seconds(20)))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()

        for _ in 0..<2 {
            channel.embeddedEventLoop.advanceTime(by: .seconds(20))
            #expect(try channel.readOutbound(as: WebSocketFrame.self)?.opcode == .ping)
        }
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(20))
        var close = try #require(try channel.readOutbound(as: WebSocketFrame.self))
        #expect(close.opcode == .connectionClose)
        #expect(close.data.readWebSocketErrorCode() == .goingAway)
        #expect(!channel.isActive)
    }
}

private struct IgnoredSession: PileSession {
    func opened(_ connection: PileConnection) async {}
    func received(_ text: String, on connection: PileConnection) async {}
    func closed(_ connection: PileConnection) async {}
    func deliver(_ instruction: PileInstruction, as command: CommandTicket, on connection: PileConnection) async -> DeliveryOutcome { .unsupported }
}
