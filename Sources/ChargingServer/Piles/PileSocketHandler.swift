import NIOCore
import NIOWebSocket

/// The WebSocket protocol of one pile's socket, on its event loop: text messages (fragments
/// joined, at most `maxMessageSize` bytes, valid UTF-8), pings every `pingInterval` (a pile
/// that misses two pongs is dropped), and the close handshake. Messages and the end of the
/// socket go to the pile's `PileConnection`; outbound, it takes text (`String`) and `Close`.
final class PileSocketHandler: ChannelDuplexHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = String
    typealias OutboundOut = WebSocketFrame

    /// Asks the handler to close the socket with `code` (a user outbound event).
    struct Close: Sendable {
        var code: WebSocketErrorCode
        var reason: String
    }

    private enum State { case open, closing, closed }

    private let connection: PileConnection
    private let maxMessageSize: Int
    private let pingInterval: TimeAmount
    /// How long we wait for the pile's close frame after sending ours.
    private let closeTimeout = TimeAmount.seconds(1)
    private var state = State.open
    /// A text message still arriving in fragments.
    private var partialMessage: ByteBuffer?
    private var unansweredPings = 0
    private var pinger: RepeatedTask?

    init(connection: PileConnection, maxMessageSize: Int, pingInterval: TimeAmount) {
        self.connection = connection
        self.maxMessageSize = maxMessageSize
        self.pingInterval = pingInterval
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard pingInterval > .zero else { return }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        pinger = context.eventLoop.scheduleRepeatedTask(initialDelay: pingInterval, delay: pingInterval) { _ in
            let (handler, context) = bound.value
            handler.ping(context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        pinger?.cancel()
        pinger = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .closed
        pinger?.cancel()
        pinger = nil
        connection.enqueue(.closed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Frame decoding errors were answered by NIO's WebSocketProtocolErrorHandler; the rest are I/O errors.
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        // RFC 6455 §5.1: a client masks every frame.
        guard frame.maskKey != nil else { return close(.protocolError, reason: "unmasked frame", context: context) }
        switch frame.opcode {
        case .connectionClose:
            // The pile closes: answer with 1000 (echoing its code could send back one never to be sent, like 1005) and hang up.
            close(.normalClosure, reason: "", context: context)
            context.close(promise: nil)
        case .ping:
            guard frame.fin, frame.length <= 125 else { return close(.protocolError, reason: "bad ping", context: context) }
            if state == .open { send(.pong, frame.unmaskedData, context: context) }
        case .pong:
            unansweredPings = 0
        case .binary:
            if state == .open { close(.unacceptableData, reason: "text frames only", context: context) }
        case .text, .continuation:
            if state == .open { receiveText(frame, context: context) }  // after our close frame, data is dropped
        default:
            close(.protocolError, reason: "unknown opcode", context: context)
        }
    }

    private func receiveText(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        var message: ByteBuffer
        switch (frame.opcode, partialMessage) {
        case (.text, nil):
            message = frame.unmaskedData
        case (.continuation, .some(let partial)):
            message = partial
            guard partial.readableBytes + frame.length <= maxMessageSize else {
                return close(.messageTooLarge, reason: "message too large", context: context)
            }
            var fragment = frame.unmaskedData
            message.writeBuffer(&fragment)
        default:
            return close(.protocolError, reason: "unexpected fragment", context: context)
        }
        guard frame.fin else {
            partialMessage = message
            return
        }
        partialMessage = nil
        guard let text = String(validating: message.readableBytesView, as: UTF8.self) else {
            return close(.dataInconsistentWithMessage, reason: "text is not UTF-8", context: context)
        }
        connection.enqueue(.text(text))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard state == .open else {
            promise?.fail(ChannelError.outputClosed)
            return
        }
        let text = unwrapOutboundIn(data)
        var buffer = context.channel.allocator.buffer(capacity: text.utf8.count)
        buffer.writeString(text)
        context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, data: buffer)), promise: promise)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let request = event as? Close else { return context.triggerUserOutboundEvent(event, promise: promise) }
        close(request.code, reason: request.reason, context: context, promise: promise)
    }

    /// Sends our close frame once; the socket closes when the pile answers, or after `closeTimeout`.
    private func close(_ code: WebSocketErrorCode, reason: String, context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        guard state == .open else {
            promise?.succeed()
            return
        }
        state = .closing
        partialMessage = nil
        var payload = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        payload.write(webSocketErrorCode: code)
        payload.writeString(reason)
        send(.connectionClose, payload, context: context, promise: promise)
        let channel = context.channel
        context.eventLoop.scheduleTask(in: closeTimeout) { channel.close(promise: nil) }
    }

    /// Two pings in a row went unanswered: the pile is gone (or its connection is half-open).
    private func ping(context: ChannelHandlerContext) {
        guard state == .open else { return }
        guard unansweredPings < 2 else {
            close(.goingAway, reason: "ping timeout", context: context)
            context.close(promise: nil)
            return
        }
        unansweredPings += 1
        send(.ping, context.channel.allocator.buffer(capacity: 0), context: context)
    }

    private func send(_ opcode: WebSocketOpcode, _ data: ByteBuffer, context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: opcode, data: data)), promise: promise)
    }
}
