import NIOCore
import NIOWebSocket

/// The I/O shell of one pile's socket, on its event loop: feeds frames and ping ticks to
/// `PileSocketStateMachine` and performs its actions; complete messages and the end of
/// the socket go to the pile's `PileConnection`. Outbound, it takes text (`String`) and `Close`.
final class PileSocketHandler: ChannelDuplexHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = String
    typealias OutboundOut = WebSocketFrame

    /// Asks the handler to close the socket with `code` (a user outbound event).
    struct Close: Sendable {
        var code: WebSocketErrorCode
        var reason: String
    }

    /// How long we wait for the pile's close frame after sending ours.
    static let closeTimeout = TimeAmount.seconds(1)

    private let connection: PileConnection
    private let pingInterval: TimeAmount
    private var machine: PileSocketStateMachine
    private var pinger: RepeatedTask?

    init(connection: PileConnection, maxMessageSize: Int, pingInterval: TimeAmount) {
        self.connection = connection
        self.pingInterval = pingInterval
        self.machine = PileSocketStateMachine(maxMessageSize: maxMessageSize)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard pingInterval > .zero else { return }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        pinger = context.eventLoop.scheduleRepeatedTask(initialDelay: pingInterval, delay: pingInterval) { _ in
            let (handler, context) = bound.value
            handler.perform(handler.machine.pingDue(), context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopPinging()
    }

    func channelInactive(context: ChannelHandlerContext) {
        machine.channelClosed()
        stopPinging()
        connection.enqueue(.closed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Frame decoding errors were answered by NIO's WebSocketProtocolErrorHandler; the rest are I/O errors.
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        perform(machine.received(unwrapInboundIn(data)), context: context)
    }

    /// The pile stopped reading and our writes pile up past the channel's high water mark.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if !context.channel.isWritable { perform(machine.stalled(), context: context) }
        context.fireChannelWritabilityChanged()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard machine.isOpen, context.channel.isWritable else {
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
        perform(machine.closeRequested(request.code, reason: request.reason), context: context, promise: promise)
    }

    private func perform(_ action: PileSocketStateMachine.Action, context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        switch action {
        case .none:
            promise?.succeed()
        case .deliver(let text):
            connection.enqueue(.text(text))
        case .send(let opcode, let data):
            guard context.channel.isWritable else { return perform(machine.stalled(), context: context, promise: promise) }
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: opcode, data: data)), promise: promise)
        case .close(let code, let reason, let hangUpNow):
            var payload = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
            payload.write(webSocketErrorCode: code)
            payload.writeString(reason)
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload)), promise: promise)
            if hangUpNow {
                context.close(promise: nil)
            } else {
                let channel = context.channel
                context.eventLoop.scheduleTask(in: Self.closeTimeout) { channel.close(promise: nil) }
            }
        case .hangUp:
            promise?.succeed()
            context.close(promise: nil)
        }
    }

    private func stopPinging() {
        pinger?.cancel()
        pinger = nil
    }
}
