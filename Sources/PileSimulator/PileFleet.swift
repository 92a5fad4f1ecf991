import Logging
import NIOConcurrencyHelpers

/// Many simulated piles at once, for the `sim` command, demos and benchmarks: each pile logs in,
/// optionally turns itself on, meters its charging sessions, and reconnects if asked to.
public struct PileFleet: Sendable {
    public struct Configuration: Sendable {
        public var baseURL: String
        public var pileIDs: [Int]
        public var password: String
        /// Piles whose password is not `password` (the default station's first start gives each its own).
        public var passwords: [Int: String]
        public var autoAck: Bool
        /// After `welcome`, press the pile's own `on` button.
        public var turnOn: Bool
        /// Log in and connect again after the socket closes or a login fails — except after `set_status offline`,
        /// which leaves the pile waiting for its operator.
        public var reconnect: Bool
        /// Between attempts: jittered exponential backoff from `reconnectDelay` up to `maximumReconnectDelay`
        /// (`ReconnectBackoff`), back to the start after a `welcome`; a login answered `retry_after` waits that.
        public var reconnectDelay: Duration
        public var maximumReconnectDelay: Duration
        /// Send a `meter` frame this often while a car charges; nil never does (the server models energy itself).
        public var meterInterval: Duration?

        public init(
            baseURL: String = "http://127.0.0.1:8080",
            pileIDs: [Int],
            password: String,
            passwords: [Int: String] = [:],
            autoAck: Bool = true,
            turnOn: Bool = false,
            reconnect: Bool = false,
            reconnectDelay: Duration = .seconds(1),
            maximumReconnectDelay: Duration = .seconds(30),
            meterInterval: Duration? = nil
        ) {
            self.baseURL = baseURL
            self.pileIDs = pileIDs
            self.password = password
            self.passwords = passwords
            self.autoAck = autoAck
            self.turnOn = turnOn
            self.reconnect = reconnect
            self.reconnectDelay = reconnectDelay
            self.maximumReconnectDelay = maximumReconnectDelay
            self.meterInterval = meterInterval
        }
    }

    public let configuration: Configuration
    /// Every pile's events, merged; ends when `run()` returns.
    public let events: AsyncStream<PileFleetEvent>

    private let continuation: AsyncStream<PileFleetEvent>.Continuation
    private let logger: Logger
    private let onFrame: (@Sendable (Int, PileFrameDirection, String) -> Void)?
    /// Each pile's last `set_power` in kW, kept across its reconnects as the protocol asks.
    private let powerLimits = NIOLockedValueBox<[Int: Double]>([:])

    /// - Parameter onFrame: called with the pile id and text of every frame any pile receives or sends.
    public init(
        _ configuration: Configuration,
        logger: Logger = Logger(label: "chargepile.sim"),
        onFrame: (@Sendable (_ pileID: Int, PileFrameDirection, String) -> Void)? = nil
    ) {
        self.configuration = configuration
        (self.events, self.continuation) = AsyncStream.makeStream()
        self.logger = logger
        self.onFrame = onFrame
    }

    /// Runs every pile until all have stopped (or the task is cancelled), then throws the first error
    /// a pile stopped on, if any. With `reconnect`, piles only stop after `offline` or cancellation.
    public func run() async throws {
        defer { continuation.finish() }
        let errors = await withTaskGroup(of: (any Error)?.self) { group in
            for pileID in configuration.pileIDs {
                group.addTask { await self.runPile(pileID) }
            }
            return await group.compactMap { $0 }.reduce(into: [any Error]()) { $0.append($1) }
        }
        if let first = errors.first { throw first }
    }

    private enum ConnectionOutcome {
        case closed(welcomed: Bool)
        case wentOffline
        case failed(any Error)
    }

    private func runPile(_ pileID: Int) async -> (any Error)? {
        let backoff = ReconnectBackoff(initial: configuration.reconnectDelay, maximum: configuration.maximumReconnectDelay)
        var attempt = 0
        while true {
            let outcome = await connectOnce(pileID)
            let delay: Duration
            switch outcome {
            case .wentOffline:
                return nil
            case .closed where !configuration.reconnect || Task.isCancelled:
                return nil
            case .failed(let error) where !configuration.reconnect || Task.isCancelled:
                logger.error("pile stopped", metadata: ["pile": "\(pileID)", "error": "\(error)"])
                return Task.isCancelled ? nil : error
            case .failed(let error):
                if case .loginRetry(let seconds)? = error as? PileSimulatorError {
                    // The instance named the moment to come back: no backoff of our own on top.
                    logger.info("pile login deferred", metadata: ["pile": "\(pileID)", "seconds": "\(seconds)"])
                    delay = .seconds(seconds)
                } else {
                    logger.notice("pile failed, reconnecting", metadata: ["pile": "\(pileID)", "error": "\(error)"])
                    delay = backoff.delay(attempt: attempt)
                    attempt += 1
                }
            case .closed(let welcomed):
                logger.notice("pile closed, reconnecting", metadata: ["pile": "\(pileID)"])
                if welcomed { attempt = 0 }
                delay = backoff.delay(attempt: attempt)
                attempt += 1
            }
            do {
                try await Task.sleep(for: delay)
            } catch {
                return nil
            }
        }
    }

    /// One login + WebSocket session of one pile, reacting to its events.
    private func connectOnce(_ pileID: Int) async -> ConnectionOutcome {
        var observer: (@Sendable (PileFrameDirection, String) -> Void)?
        if let onFrame {
            observer = { direction, text in onFrame(pileID, direction, text) }
        }
        let pile = SimulatedPile(
            PileSimulatorConfiguration(
                baseURL: configuration.baseURL, pileID: pileID, password: configuration.passwords[pileID] ?? configuration.password,
                autoAck: configuration.autoAck),
            logger: logger,
            onFrame: observer
        )
        return await withTaskGroup(of: (any Error)?.self) { group in
            group.addTask {
                do {
                    try await pile.run()
                    return nil
                } catch {
                    return error
                }
            }
            var wentOffline = false
            var welcomed = false
            var meters: [Int64: Task<Void, Never>] = [:]
            for await event in pile.events {
                continuation.yield(PileFleetEvent(pileID: pileID, event: event))
                if case .welcome = event { welcomed = true }
                switch event {
                case .welcome where configuration.turnOn:
                    do {
                        try await pile.send(status: "on")
                    } catch {
                        logger.warning("could not turn on", metadata: ["pile": "\(pileID)", "error": "\(error)"])
                    }
                case .setStatus("offline", _):
                    wentOffline = true
                case .setPower(let powerKW, _):
                    powerLimits.withLockedValue { $0[pileID] = powerKW }
                case .startCharging(let requestID, _, let queueNumber, let requestedKWh):
                    if let interval = configuration.meterInterval {
                        meters[requestID]?.cancel()
                        let limits = powerLimits
                        meters[requestID] = Task {
                            await Self.meter(
                                pile, requestID: requestID, queueNumber: queueNumber, requestedKWh: requestedKWh, every: interval,
                                limitKW: { limits.withLockedValue { $0[pileID] } })
                        }
                    }
                case .stopCharging(let requestID, _):
                    meters.removeValue(forKey: requestID)?.cancel()
                default:
                    break
                }
            }
            for meter in meters.values { meter.cancel() }
            if let error = await group.next() ?? nil { return .failed(error) }
            return wentOffline ? .wentOffline : .closed(welcomed: welcomed)
        }
    }

    /// Reports the energy a car would have received at the default station's power
    /// (fast `F…` 30 kW, slow `T…` 10 kW), or the station's lower power limit while one holds, since charging
    /// began, capped at the requested amount.
    private static func meter(
        _ pile: SimulatedPile, requestID: Int64, queueNumber: String, requestedKWh: Double, every interval: Duration,
        limitKW: @Sendable () -> Double?
    ) async {
        let powerKW = queueNumber.hasPrefix("F") ? 30.0 : 10.0
        let clock = ContinuousClock()
        var last = clock.now
        var delivered = 0.0
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            let now = clock.now
            delivered += min(powerKW, limitKW() ?? powerKW) * ((now - last) / .seconds(3600))
            last = now
            let energy = min(requestedKWh, (delivered * 1000).rounded(.down) / 1000)
            do {
                try await pile.sendMeter(requestID: requestID, energyKWh: energy)
            } catch {
                return
            }
            if energy >= requestedKWh { return }
        }
    }
}
