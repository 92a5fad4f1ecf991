import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOWebSocket
import PileProtocol
import PileRouting

/// What a pile's socket means to the station, in one protocol: its events are called one at a
/// time, in order; `deliver` turns the station's instructions into that protocol's messages.
protocol PileSession: Sendable {
    func opened(_ connection: PileConnection) async
    func received(_ text: String, on connection: PileConnection) async
    func closed(_ connection: PileConnection) async
    func deliver(_ instruction: PileInstruction, as command: CommandTicket, on connection: PileConnection) async -> DeliveryOutcome
}

/// One pile's socket. Its channel handler feeds it events, which are applied in order by a
/// task that exists only while events are pending: an idle pile costs its channel and this
/// object, not a suspended task per connection (BENCHMARKS.md, idle piles).
final class PileConnection: Sendable {
    enum Event: Sendable {
        case opened
        case text(String)
        case closed
    }


    let pileID: Int
    let logger: Logger
    private let channel: any Channel
    private let executor: EventLoopTaskExecutor
    private let session: any PileSession
    private let writeTimeout: TimeAmount
    private let state = NIOLockedValueBox(State())

    private struct State {
        var pending: [Event] = []
        var draining = false
        var epoch: Int64?
    }

    init(pileID: Int, channel: any Channel, session: any PileSession, writeTimeout: TimeAmount, logger: Logger) {
        self.pileID = pileID
        self.channel = channel
        self.executor = EventLoopTaskExecutor(channel.eventLoop)
        self.session = session
        self.writeTimeout = writeTimeout
        var logger = logger
        logger[metadataKey: "pile"] = "\(pileID)"
        self.logger = logger
    }

    /// The ownership epoch this socket holds, once claimed.
    var epoch: Int64? { state.withLockedValue { $0.epoch } }

    func claimed(epoch: Int64) { state.withLockedValue { $0.epoch = epoch } }

    func enqueue(_ event: Event) {
        let (startDraining, flooded) = state.withLockedValue { state -> (Bool, Bool) in
            if case .text = event, state.pending.count >= PileProtocolLimits.maxPendingFrames { return (false, true) }
            state.pending.append(event)
            let idle = !state.draining
            state.draining = true
            return (idle, false)
        }
        if flooded {
            channel.triggerUserOutboundEvent(PileSocketHandler.Close(code: .policyViolation, reason: "too many frames"), promise: nil)
        }
        if startDraining { Task(executorPreference: executor) { await self.drain() } }
    }

    private func drain() async {
        while let event = nextEvent() {
            switch event {
            case .opened: await session.opened(self)
            case .text(let text): await session.received(text, on: self)
            case .closed: await session.closed(self)
            }
        }
    }

    private func nextEvent() -> Event? {
        state.withLockedValue { state in
            guard !state.pending.isEmpty else {
                state.draining = false
                return nil
            }
            return state.pending.removeFirst()
        }
    }

    func deliver(_ instruction: PileInstruction, as command: CommandTicket) async -> DeliveryOutcome {
        await session.deliver(instruction, as: command, on: self)
    }

    /// Writes a text frame without waiting for it: frames go out in the order they were sent, and a pile that
    /// stops reading is closed by its handler once `PileSocketChannel.maxBufferedOutput` waits to be written.
    /// For answers, which nothing waits on: no promise, no timer, no wake-up per answer.
    func send(_ text: String) {
        channel.writeAndFlush(text, promise: nil)
    }

    /// Writes a text frame; false when the socket is closing or the write did not finish in time.
    func write(_ text: String) async -> Bool {
        let written = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(text, promise: written)
        return (try? await written.futureResult.finished(within: writeTimeout).get()) ?? false
    }

    /// Sends a close frame with `code` (once) and returns when it was written.
    func close(_ code: WebSocketErrorCode, reason: String) async {
        let sent = channel.eventLoop.makePromise(of: Void.self)
        channel.triggerUserOutboundEvent(PileSocketHandler.Close(code: code, reason: reason), promise: sent)
        try? await sent.futureResult.get()
    }
}
