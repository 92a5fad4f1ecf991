import Logging

/// Many simulated OCPP 1.6J charge points at once, for `chargepile sim --protocol ocpp1.6` and the demo.
public struct OCPPChargerFleet: Sendable {
    public struct Configuration: Sendable {
        public var baseURL: String
        public var pileIDs: [Int]
        public var password: String
        /// Piles whose password is not `password` (the default station's first start gives each its own).
        public var passwords: [Int: String]
        /// Piles charging at 30 kW; the others at 10 kW (the default station: 1–2 fast, 3–5 slow).
        public var fastPileIDs: Set<Int>
        /// Report Available after Boot; else Unavailable until the operator switches the pile on.
        public var turnOn: Bool
        public var reconnect: Bool
        public var reconnectDelay: Duration
        /// MeterValues this often while charging; nil sends none (the server models energy itself).
        public var meterInterval: Duration?
        /// The OCPP identity of each pile; default: the pile number.
        public var chargePointID: @Sendable (Int) -> String
        /// See `SimulatedChargePoint.Configuration.sessionEnergy`.
        public var sessionEnergy: (@Sendable (_ pileID: Int, _ idTag: String) async -> Int?)?

        public init(
            baseURL: String = "http://127.0.0.1:8080",
            pileIDs: [Int],
            password: String,
            passwords: [Int: String] = [:],
            fastPileIDs: Set<Int> = Set(OfficialCase.fastPiles),
            turnOn: Bool = false,
            reconnect: Bool = false,
            reconnectDelay: Duration = .seconds(1),
            meterInterval: Duration? = nil,
            chargePointID: @escaping @Sendable (Int) -> String = { String($0) },
            sessionEnergy: (@Sendable (_ pileID: Int, _ idTag: String) async -> Int?)? = nil
        ) {
            self.baseURL = baseURL
            self.pileIDs = pileIDs
            self.password = password
            self.passwords = passwords
            self.fastPileIDs = fastPileIDs
            self.turnOn = turnOn
            self.reconnect = reconnect
            self.reconnectDelay = reconnectDelay
            self.meterInterval = meterInterval
            self.chargePointID = chargePointID
            self.sessionEnergy = sessionEnergy
        }
    }

    /// An event of one charge point in the fleet.
    public struct Event: Sendable, Equatable {
        public var pileID: Int
        public var event: OCPPChargePointEvent
    }

    public let configuration: Configuration
    /// Every charge point's events, merged; ends when `run()` returns.
    public let events: AsyncStream<Event>
    public let chargePoints: [SimulatedChargePoint]

    private let continuation: AsyncStream<Event>.Continuation

    /// - Parameter onFrame: called with the pile id and text of every frame any charge point receives or sends.
    public init(
        _ configuration: Configuration,
        logger: Logger = Logger(label: "chargepile.sim"),
        onFrame: (@Sendable (_ pileID: Int, PileFrameDirection, String) -> Void)? = nil
    ) {
        self.configuration = configuration
        (self.events, self.continuation) = AsyncStream.makeStream()
        var chargePoints: [SimulatedChargePoint] = []
        for pileID in configuration.pileIDs {
            let chargePointConfiguration = SimulatedChargePoint.Configuration(
                baseURL: configuration.baseURL, pileID: pileID, chargePointID: configuration.chargePointID(pileID),
                password: configuration.passwords[pileID] ?? configuration.password, powerKW: configuration.fastPileIDs.contains(pileID) ? 30 : 10,
                turnOn: configuration.turnOn, meterInterval: configuration.meterInterval, reconnect: configuration.reconnect,
                reconnectDelay: configuration.reconnectDelay, sessionEnergy: configuration.sessionEnergy)
            var observer: (@Sendable (PileFrameDirection, String) -> Void)?
            if let onFrame {
                observer = { direction, text in onFrame(pileID, direction, text) }
            }
            chargePoints.append(SimulatedChargePoint(chargePointConfiguration, logger: logger, onFrame: observer))
        }
        self.chargePoints = chargePoints
    }

    /// Runs every charge point until all have stopped (or the task is cancelled), then throws the first
    /// error one stopped on, if any. With `reconnect` they only stop on cancellation.
    public func run() async throws {
        defer { continuation.finish() }
        let errors = await withTaskGroup(of: (any Error)?.self) { group in
            for chargePoint in chargePoints {
                group.addTask {
                    async let forwarded: Void = {
                        for await event in chargePoint.events {
                            continuation.yield(Event(pileID: chargePoint.configuration.pileID, event: event))
                        }
                    }()
                    do {
                        try await chargePoint.run()
                        await forwarded
                        return nil
                    } catch {
                        await forwarded
                        return Task.isCancelled ? nil : error
                    }
                }
            }
            return await group.compactMap { $0 }.reduce(into: [any Error]()) { $0.append($1) }
        }
        if let first = errors.first { throw first }
    }
}
