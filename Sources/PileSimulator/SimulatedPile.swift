import Foundation
import Logging
import NIOConcurrencyHelpers
import PileProtocol
import WSClient

/// One pile speaking the wire protocol: logs in, holds one WebSocket, reports every frame it receives.
///
/// A `SimulatedPile` is a single connection: `run()` once, then create a new one to reconnect.
public final class SimulatedPile: Sendable {
    public let configuration: PileSimulatorConfiguration
    /// Every frame received, in order; ends after `.closed` (or when `run()` fails before the socket opened).
    public let events: AsyncStream<PileSimulatorEvent>

    private let continuation: AsyncStream<PileSimulatorEvent>.Continuation
    private let logger: Logger
    private let onFrame: (@Sendable (PileFrameDirection, String) -> Void)?
    private let state = NIOLockedValueBox(State())

    private struct State {
        var status = "offline"
        var writer: WebSocketOutboundWriter?
        var started = false
        var opened = false
    }

    /// - Parameter onFrame: called with the text of every frame received and every frame sent, as it happens.
    public init(
        _ configuration: PileSimulatorConfiguration,
        logger: Logger = Logger(label: "chargepile.sim"),
        onFrame: (@Sendable (PileFrameDirection, String) -> Void)? = nil
    ) {
        self.configuration = configuration
        (self.events, self.continuation) = AsyncStream.makeStream()
        var logger = logger
        logger[metadataKey: "pile"] = "\(configuration.pileID)"
        self.logger = logger
        self.onFrame = onFrame
    }

    /// The status the pile believes it has: `offline` until `welcome` and after the socket closes;
    /// then what `welcome`, `set_status` or its own button last said.
    public var status: String {
        state.withLockedValue { $0.status }
    }

    /// Logs in, opens the WebSocket and reads frames until the socket closes or the task is cancelled.
    /// Returns after emitting `.closed`; throws if login or the upgrade fails, or the connection breaks.
    public func run() async throws {
        let firstRun = state.withLockedValue { state in
            defer { state.started = true }
            return !state.started
        }
        guard firstRun else { throw PileSimulatorError.alreadyRun }
        defer { continuation.finish() }

        let token = try await PileLogin.token(
            baseURL: configuration.baseURL, pileID: configuration.pileID, password: configuration.password)
        let client = WebSocketClient(
            url: try PileLogin.webSocketURL(baseURL: configuration.baseURL, token: token),
            configuration: .init(maxFrameSize: 1 << 20),
            logger: logger
        ) { inbound, outbound, _ in
            try await self.serve(inbound: inbound, outbound: outbound)
        }
        do {
            let closeFrame = try await client.run()
            finish(code: closeFrame.map { Int(UInt16(webSocketErrorCode: $0.closeCode)) }, reason: closeFrame?.reason)
        } catch where Task.isCancelled {
            finish(code: nil, reason: nil)
        } catch {
            logger.warning("WebSocket failed", metadata: ["error": "\(error)"])
            finish(code: nil, reason: nil)
            throw error
        }
    }

    /// Presses the pile's own button: sends `{"type":"status","status":…}`.
    public func send(status: String) async throws {
        try await send(.status(status))
        state.withLockedValue { $0.status = status }
    }

    public func sendMeter(requestID: Int64, energyKWh: Double) async throws {
        guard energyKWh.isFinite else { throw PileSimulatorError.invalidEnergy(energyKWh) }
        try await send(.meter(requestID: requestID, energyKWh: Decimal(string: "\(energyKWh)") ?? 0))
    }

    /// Sends `text` as one text frame, unchecked, for tests of bad frames.
    public func sendRaw(_ text: String) async throws {
        guard let writer = state.withLockedValue({ $0.writer }) else { throw PileSimulatorError.notConnected }
        try await writer.write(.text(text))
        logger.info("sent", metadata: ["frame": "\(text)"])
        onFrame?(.sent, text)
    }

    private func send(_ frame: PileFrame) async throws {
        try await sendRaw(frame.text)
    }

    private func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        state.withLockedValue {
            $0.writer = outbound
            $0.opened = true
        }
        defer { state.withLockedValue { $0.writer = nil } }

        for try await message in inbound.messages(maxSize: 1 << 20) {
            let text: String
            switch message {
            case .text(let string): text = string
            case .binary(let buffer): text = "<binary frame, \(buffer.readableBytes) bytes>"
            }
            onFrame?(.received, text)
            let event = PileSimulatorEvent(frameText: text)
            switch event {
            case .welcome(let status), .setStatus(let status, _):
                state.withLockedValue { $0.status = status }
            default:
                break
            }
            logger.info("received", metadata: ["event": "\(event)"])
            continuation.yield(event)

            let acknowledged: Int64? = switch event {
            case .setStatus(_, let commandID), .setPower(_, let commandID): commandID
            default: nil
            }
            if let commandID = acknowledged, configuration.autoAck {
                do {
                    try await send(.ack(commandID: commandID))
                } catch {
                    // After `offline` the server may already be closing; a lost ack is what the API allows.
                    logger.debug("ack not sent", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// Emits `.closed` once, if the socket ever opened.
    private func finish(code: Int?, reason: String?) {
        let opened = state.withLockedValue { state in
            state.status = "offline"
            state.writer = nil
            return state.opened
        }
        guard opened else { return }
        logger.info("closed", metadata: ["code": "\(code.map(String.init) ?? "none")", "reason": "\(reason ?? "")"])
        continuation.yield(.closed(code: code, reason: reason))
    }
}
