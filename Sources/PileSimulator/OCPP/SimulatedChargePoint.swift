import Logging
import NIOConcurrencyHelpers
import OCPP16
import WSClient

/// One simulated OCPP 1.6J charge point over a real WebSocket: `OCPPChargePointMachine` behind a
/// `WSClient` connection to `/ocpp/<chargePointId>`.
///
/// Unlike `SimulatedPile`, one `SimulatedChargePoint` is one charger across connections: its energy
/// register, availability and transaction survive a reconnect. `run()` connects, and with `reconnect`
/// connects again with jittered backoff (`ReconnectBackoff`: 1 s doubling to 30 s, each wait between half
/// and all of that; back to 1 s after an accepted Boot), except after
/// the server closed it with 1000 "offline"; after a Reset it reconnects at once either way.
public final class SimulatedChargePoint: Sendable {
    public struct Configuration: Sendable {
        /// The server's HTTP base, e.g. `http://127.0.0.1:8080`; the WebSocket URL is derived from it.
        public var baseURL: String
        /// The pile number, for transcripts.
        public var pileID: Int
        /// The OCPP identity in the URL and the Basic user; defaults to the pile number.
        public var chargePointID: String
        public var password: String
        /// Fast piles 30 kW, slow 10 kW (the default station).
        public var powerKW: Double
        /// Report Available from the first Boot (our `--turn-on`); else Unavailable until ChangeAvailability Operative.
        public var turnOn: Bool
        /// MeterValues this often while charging; nil sends none.
        public var meterInterval: Duration?
        public var reconnect: Bool
        public var reconnectDelay: Duration
        public var maximumReconnectDelay: Duration
        public var callTimeout: Duration
        /// Asked, when RemoteStopTransaction arrives for the running transaction, how much energy (Wh) the car
        /// drew in it; an answer becomes meterStop − meterStart. The demo answers with what the station
        /// modelled, which a meter on real time cannot follow on a manual station clock. nil: the register.
        public var sessionEnergy: (@Sendable (_ pileID: Int, _ idTag: String) async -> Int?)?

        public init(
            baseURL: String = "http://127.0.0.1:8080", pileID: Int, chargePointID: String? = nil, password: String,
            powerKW: Double, turnOn: Bool = false, meterInterval: Duration? = nil, reconnect: Bool = false,
            reconnectDelay: Duration = .seconds(1), maximumReconnectDelay: Duration = .seconds(30),
            callTimeout: Duration = .seconds(30),
            sessionEnergy: (@Sendable (_ pileID: Int, _ idTag: String) async -> Int?)? = nil
        ) {
            self.baseURL = baseURL
            self.pileID = pileID
            self.chargePointID = chargePointID ?? String(pileID)
            self.password = password
            self.powerKW = powerKW
            self.turnOn = turnOn
            self.meterInterval = meterInterval
            self.reconnect = reconnect
            self.reconnectDelay = reconnectDelay
            self.maximumReconnectDelay = maximumReconnectDelay
            self.callTimeout = callTimeout
            self.sessionEnergy = sessionEnergy
        }
    }

    public let configuration: Configuration
    /// Everything the charge point did or was told, in order; ends when `run()` returns.
    public let events: AsyncStream<OCPPChargePointEvent>

    private let continuation: AsyncStream<OCPPChargePointEvent>.Continuation
    private let logger: Logger
    private let onFrame: (@Sendable (PileFrameDirection, String) -> Void)?
    private let machine: NIOLockedValueBox<OCPPChargePointMachine>
    private let started = NIOLockedValueBox(false)

    /// - Parameter onFrame: called with the text of every frame received and sent, as it happens.
    public init(
        _ configuration: Configuration,
        logger: Logger = Logger(label: "chargepile.sim"),
        onFrame: (@Sendable (PileFrameDirection, String) -> Void)? = nil
    ) {
        self.configuration = configuration
        (self.events, self.continuation) = AsyncStream.makeStream()
        var logger = logger
        logger[metadataKey: "pile"] = "\(configuration.pileID)"
        logger[metadataKey: "chargePointId"] = "\(configuration.chargePointID)"
        self.logger = logger
        self.onFrame = onFrame
        self.machine = NIOLockedValueBox(OCPPChargePointMachine(.init(
            chargePointID: configuration.chargePointID, powerKW: configuration.powerKW,
            startsAvailable: configuration.turnOn, meterInterval: configuration.meterInterval,
            callTimeout: configuration.callTimeout)))
    }

    /// The connector's status as last notified.
    public var status: ChargePointStatus {
        machine.withLockedValue { $0.status }
    }

    /// The transaction in progress, if any.
    public var transaction: OCPPChargePointMachine.Transaction? {
        machine.withLockedValue { $0.transaction }
    }

    /// Whether one of its CALLs waits for an answer (others may wait behind it).
    public var isAwaitingAnswer: Bool {
        machine.withLockedValue { $0.isAwaitingAnswer }
    }

    /// The energy register now, in Wh.
    public var registerWh: Double {
        machine.withLockedValue { $0.registerWh(at: .now) }
    }

    /// Connects and serves until the socket closes (without `reconnect`), the server closes it with 1000
    /// "offline", or the task is cancelled. Without `reconnect`, throws when connecting fails.
    public func run() async throws {
        let firstRun = started.withLockedValue { started in
            defer { started = true }
            return !started
        }
        guard firstRun else { throw PileSimulatorError.alreadyRun }
        defer { continuation.finish() }

        let backoff = ReconnectBackoff(initial: configuration.reconnectDelay, maximum: configuration.maximumReconnectDelay)
        var attempt = 0
        while !Task.isCancelled {
            let outcome = await connectOnce()
            if case .rebooting = outcome {
                attempt = 0
                continue
            }
            if Task.isCancelled { return }
            if case .wentOffline = outcome {
                logger.notice("the server took the pile offline; not reconnecting")
                return
            }
            guard configuration.reconnect else {
                if case .failed(let error) = outcome { throw error }
                return
            }
            if case .closed(booted: true) = outcome { attempt = 0 }
            let delay = backoff.delay(attempt: attempt)
            attempt += 1
            logger.notice("reconnecting", metadata: ["after": "\(delay)"])
            do {
                try await Task.sleep(for: delay)
            } catch {
                return
            }
        }
    }

    private enum ConnectionOutcome {
        case closed(booted: Bool)
        /// Closed by the server with 1000 "offline" (admin `status/set offline`): like our own piles, the
        /// charge point waits for its operator instead of reconnecting.
        case wentOffline
        case rebooting
        case failed(any Error)
    }

    private func connectOnce() async -> ConnectionOutcome {
        let url: String
        do {
            url = try OCPPHandshake.webSocketURL(baseURL: configuration.baseURL, chargePointID: configuration.chargePointID)
        } catch {
            continuation.yield(.connectFailed("\(error)"))
            return .failed(error)
        }
        let connection = Connection()
        let outcome: ConnectionOutcome
        do {
            let headers = [
                ("Sec-WebSocket-Protocol", OCPPHandshake.subprotocol),
                ("Authorization", OCPPHandshake.authorization(chargePointID: configuration.chargePointID, password: configuration.password)),
            ]
            let closeFrame = try await OCPPWebSocketClient.run(url: url, headers: headers, maxFrameSize: 1 << 20, logger: logger) {
                inbound, outbound, _ in
                try await self.serve(inbound: inbound, outbound: outbound, connection: connection)
            }
            var code = closeFrame.map { Int(UInt16(webSocketErrorCode: $0.closeCode)) }
            var reason = closeFrame?.reason
            if connection.rebooting, closeFrame == nil {
                (code, reason) = (1000, "reset")
            }
            if connection.opened {
                logger.info("closed", metadata: ["code": "\(code.map(String.init) ?? "none")", "reason": "\(reason ?? "")"])
                continuation.yield(.closed(code: code, reason: reason))
            }
            if connection.rebooting {
                outcome = .rebooting
            } else if code == 1000, reason == "offline" {
                outcome = .wentOffline
            } else {
                outcome = .closed(booted: connection.booted)
            }
        } catch {
            if connection.opened {
                continuation.yield(.closed(code: nil, reason: nil))
            } else if !Task.isCancelled {
                // A refusal says what the server answered (`OCPPUpgradeRefused`: HTTP 401 and its text, say).
                let why = error is OCPPUpgradeRefused ? "\(error)" : "\(url): \(error)"
                logger.info("connection failed", metadata: ["error": "\(why)"])
                continuation.yield(.connectFailed(why))
            }
            outcome = connection.rebooting ? .rebooting : (connection.opened ? .closed(booted: connection.booted) : .failed(error))
        }
        if connection.opened {
            machine.withLockedValue { $0.closed() }
        }
        return outcome
    }

    /// What one connection learnt, read after it ends.
    private final class Connection: @unchecked Sendable {
        private let lock = NIOLock()
        private var _opened = false
        private var _booted = false
        private var _rebooting = false
        var opened: Bool {
            get { lock.withLock { _opened } }
            set { lock.withLock { _opened = newValue } }
        }
        var booted: Bool {
            get { lock.withLock { _booted } }
            set { lock.withLock { _booted = newValue } }
        }
        var rebooting: Bool {
            get { lock.withLock { _rebooting } }
            set { lock.withLock { _rebooting = newValue } }
        }
    }

    private enum Input: Sendable {
        case frame(String)
        case tick
        case ended
    }

    private func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, connection: Connection) async throws {
        connection.opened = true
        let (inputs, input) = AsyncStream<Input>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { input.yield(.ended) }
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    switch message {
                    case .text(let text): input.yield(.frame(text))
                    case .binary(let buffer): input.yield(.frame("<binary frame, \(buffer.readableBytes) bytes>"))
                    }
                }
            }
            var timer: Task<Void, Never>?
            defer { timer?.cancel() }
            func schedule() {
                timer?.cancel()
                guard let wakeup = machine.withLockedValue({ $0.nextWakeup }) else { return }
                timer = Task {
                    try? await Task.sleep(until: wakeup, clock: .continuous)
                    if !Task.isCancelled { input.yield(.tick) }
                }
            }

            var reboot = try await perform(
                machine.withLockedValue { $0.connected(now: .now) }, outbound: outbound, connection: connection)
            if !reboot { schedule() }
            loop: for await next in inputs {
                if reboot { break }
                let outputs: [OCPPChargePointMachine.Output]
                switch next {
                case .frame(let text):
                    onFrame?(.received, text)
                    logger.debug("received", metadata: ["frame": "\(text)"])
                    await askSessionEnergy(before: text)
                    outputs = machine.withLockedValue { $0.received(text, now: .now) }
                case .tick:
                    outputs = machine.withLockedValue { $0.tick(now: .now) }
                case .ended:
                    break loop
                }
                if try await perform(outputs, outbound: outbound, connection: connection) {
                    reboot = true
                    break loop
                }
                schedule()
            }
            if reboot {
                connection.rebooting = true
                try? await outbound.close(.normalClosure, reason: "reset")
            }
            group.cancelAll()
        }
    }

    /// Before a RemoteStopTransaction for the running transaction, `sessionEnergy` (if configured) sets the meter.
    private func askSessionEnergy(before text: String) async {
        guard let sessionEnergy = configuration.sessionEnergy,
              case .call(_, OCPPAction.remoteStopTransaction.rawValue, let payload)? = try? OCPPFrame.parse(text),
              let transaction = machine.withLockedValue({ $0.transaction }), let transactionID = transaction.transactionID,
              payload["transactionId"]?.integerValue == transactionID,
              let energyWh = await sessionEnergy(configuration.pileID, transaction.idTag)
        else { return }
        machine.withLockedValue { $0.setSessionEnergy(energyWh, now: .now) }
    }

    /// Sends and reports; true when the charge point is to reboot.
    private func perform(
        _ outputs: [OCPPChargePointMachine.Output], outbound: WebSocketOutboundWriter, connection: Connection
    ) async throws -> Bool {
        for output in outputs {
            switch output {
            case .send(let text):
                try await outbound.write(.text(text))
                logger.debug("sent", metadata: ["frame": "\(text)"])
                onFrame?(.sent, text)
            case .event(let event):
                if case .booted(.accepted, _) = event { connection.booted = true }
                logger.info("event", metadata: ["event": "\(event)"])
                continuation.yield(event)
            case .reboot:
                return true
            }
        }
        return false
    }
}
