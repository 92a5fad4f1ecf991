import ChargingDomain
import ChargingStore
import Foundation
import Logging
import PileRouting
import PostgresClient
import Synchronization

/// Runs the station engine for the HTTP and WebSocket edges: every change goes through
/// `StationStore.update` (one transaction under the station's lock); frames for piles
/// leave through routing when that transaction commits.
public struct StationService: Sendable {
    let store: StationStore
    let offlineGrace: Duration
    let logger: Logger
    /// The station drivers use when a request names none.
    let defaultStationID: Int
    private let statusCatchUps = CatchUpCoalescer()
    private let pileStations = PileStations()
    /// How fast a pile's own status reports may change its status (both protocols).
    let statusLimiter: PileStatusRateLimiter

    public init(store: StationStore, offlineGrace: Duration, defaultStationID: Int = 1,
                statusChangeLimit: Int = 5, statusChangeWindow: Duration = .seconds(10), logger: Logger) {
        self.store = store
        self.offlineGrace = offlineGrace
        self.defaultStationID = defaultStationID
        self.statusLimiter = PileStatusRateLimiter(.init(changes: statusChangeLimit, window: statusChangeWindow))
        self.logger = logger
    }

    /// The refusal text when a pile reports status changes faster than allowed; nil: apply the report.
    func statusReportRefusal(pileID: Int, status: PileStatus) -> String? {
        guard !statusLimiter.allow(pileID: pileID, status: status) else { return nil }
        logger.notice("pile status change refused: too frequent", metadata: ["pile": "\(pileID)", "status": "\(status.rawValue)"])
        let limit = statusLimiter.limit
        return "状态变更过于频繁（每\(Int(limit.window.inSeconds.rounded()))秒最多\(limit.changes)次），已忽略"
    }

    /// Applies a command at a pile, in the pile's station.
    func apply(_ command: StationCommand, pileID: Int) async throws -> [StationEffect] {
        guard let stationID = try await stationID(ofPile: pileID) else { throw APIError(StationError.unknownPile.message) }
        return try await apply(command, stationID: stationID)
    }

    /// A pile's station (it never changes once the pile exists, so each instance asks once).
    func stationID(ofPile pileID: Int) async throws -> Int? {
        if let known = pileStations.withLock({ $0[pileID] }) { return known }
        guard let stationID = try await store.stationID(ofPile: pileID) else { return nil }
        pileStations.withLock { $0[pileID] = stationID }
        return stationID
    }

    /// Runs `change` in one transaction with an engine step at the pile's station: what a charger's
    /// message writes of its own (its transaction row) commits or rolls back with the station's change.
    /// `change` returns the engine's effects of its step and its own result. Errors pass as thrown.
    func atStation<Result>(
        ofPile pileID: Int, _ change: (inout Station, StationClock, PostgresConnection) async throws -> ([StationEffect], Result)
    ) async throws -> Result {
        try await atStation(ofPile: pileID, alongWith: []) { station, clock, connection, _ in try await change(&station, clock, connection) }
    }

    /// The same, `change` getting the rows of `along`: statements sent in the round trip that takes the
    /// station's lock and loads it (a charger's card, the transaction it stops).
    func atStation<Result>(
        ofPile pileID: Int, alongWith along: [PostgresQuery],
        _ change: (inout Station, StationClock, PostgresConnection, [PostgresRows]) async throws -> ([StationEffect], Result)
    ) async throws -> Result {
        guard let stationID = try await stationID(ofPile: pileID) else { throw StationError.unknownPile }
        var result: Result?
        _ = try await store.update(stationID: stationID, offlineGrace: offlineGrace, readings: .forDecisions(), alongWith: along,
                                   { station, clock, connection, along in
            let (effects, outcome) = try await change(&station, clock, connection, along)
            result = outcome
            return effects
        }, alsoInTransaction: { try await Self.queueInstructions($0, clock: $1, on: $2) })
        return result!
    }

    /// Applies a driver's or a pile's command at station time now.
    func apply(_ command: StationCommand, stationID: Int? = nil) async throws -> [StationEffect] {
        do {
            return try await store.update(
                stationID: stationID ?? defaultStationID, offlineGrace: offlineGrace,
                { station, clock, _, _ in try station.apply(command, at: clock.now.instant) },
                alsoInTransaction: { try await Self.queueInstructions($0, clock: $1, on: $2) })
        } catch let error as StationError {
            throw APIError(error.message)
        } catch StoreError.notFound {
            throw APIError("充电站不存在")
        }
    }

    /// Applies completions due by now and any pile status changes; the ticker calls it. `completing`: a
    /// request whose stored reading reached its target.
    @discardableResult
    func catchUp(stationID: Int, completing request: Int64? = nil) async throws -> [StationEffect] {
        try await store.update(stationID: stationID, offlineGrace: offlineGrace, readings: .forDecisions(also: Set([request].compactMap { $0 })),
                               alsoInTransaction: { try await Self.queueInstructions($0, clock: $1, on: $2) })
    }

    /// The stations the ticker must catch up: a completion due, or (with cars) a pile status the engine hasn't taken in.
    func stationsBehind() async throws -> [Int] {
        try await store.stationsBehind(offlineGrace: offlineGrace)
    }

    /// A pile's status changed in `piles` at a station with cars (`PileStates` decides): the engine follows
    /// at once, and a burst of changes in one station shares its catch-ups. At a station without any,
    /// a change cannot move a car, and the engine takes it in when the next car arrives (every step
    /// syncs statuses first): a reconnect storm of idle chargers costs one query each, not a catch-up each.
    func pileStatusChanged(stationID: Int) async {
        await statusCatchUps.run(stationID: stationID) {
            do {
                try await catchUp(stationID: stationID)
            } catch {
                logger.warning("station catch-up failed", metadata: ["station": "\(stationID)", "error": "\(error)"])
            }
        }
    }

    /// A pile's meter reading of its charging car's session; the refusal text when the reading doesn't fit.
    /// The reading is stored with the request, and the engine takes it in when it next decides at the
    /// station (at once when the reading completes the session). A refused reading (impossible,
    /// backwards, for a car not charging there) changes nothing and is recorded in `meter_refusals`.
    func meterReading(pileID: Int, requestID: Int64, energyKWh: Decimal, source: MeterSource) async throws -> String? {
        guard let stationID = try await stationID(ofPile: pileID) else { return StationError.unknownPile.message }
        let verdict = try await store.recordMeterReading(stationID: stationID, requestID: requestID, pileID: pileID, energyKWh: energyKWh)
        return try await settle(verdict, stationID: stationID, pileID: pileID, requestID: requestID, energyKWh: energyKWh, source: source)
    }

    /// What follows a stored reading's verdict: a catch-up when it completes the session, the refusal recorded when refused.
    func settle(_ verdict: StationStore.MeterVerdict, stationID: Int, pileID: Int, requestID: Int64, energyKWh: Decimal,
                source: MeterSource) async throws -> String? {
        switch verdict {
        case .stored:
            return nil
        case .completes:
            try await catchUp(stationID: stationID, completing: requestID)
            return nil
        case .refused(let error):
            logger.notice("meter reading refused", metadata: [
                "pile": "\(pileID)", "request": "\(requestID)", "energy_kwh": "\(energyKWh)", "why": "\(error.message)"])
            try await store.recordMeterRefusal(
                stationID: stationID, pileID: pileID, requestID: requestID, energyKWh: energyKWh,
                reason: StationStore.meterRefusalReason(error), source: source, message: error.message)
            return error.message
        }
    }

    /// The charger's meterStop − meterStart for a session the station ended first: the bill takes it.
    func meterAtStop(stationID: Int, requestID: Int64, pileID: Int, energyKWh: Decimal) async throws {
        if try await store.correctBill(stationID: stationID, requestID: requestID, pileID: pileID, energyKWh: energyKWh) {
            logger.info("bill corrected to the charger's meter", metadata: ["pile": "\(pileID)", "request": "\(requestID)"])
        }
    }

    /// The pile's station as of now: a copy, to read or to try a command on without changing anything
    /// (`readings`: which stored meter readings the copy takes in, every one by default).
    func station(ofPile pileID: Int, readings: StationStore.Readings = .all) async throws -> (station: Station, clock: StationClock)? {
        guard let stationID = try await stationID(ofPile: pileID) else { return nil }
        return try await store.snapshot(stationID: stationID, readings: readings)
    }

    /// The same, with the rows of `along`, read in the station's round trip.
    func station(ofPile pileID: Int, readings: StationStore.Readings = .all, alongWith along: [PostgresQuery]) async throws
        -> (station: Station, clock: StationClock, along: [PostgresRows])? {
        guard let stationID = try await stationID(ofPile: pileID) else { return nil }
        return try await store.snapshot(stationID: stationID, readings: readings, alongWith: along)
    }

    func pileQueue(pileID: Int) async throws -> [QueueEntry]? {
        try await station(ofPile: pileID)?.station.pileQueue(pileID)
    }

    func waitingArea(stationID: Int? = nil) async throws -> [WaitingEntry] {
        try await store.snapshot(stationID: stationID ?? defaultStationID)?.station.waitingArea() ?? []
    }

    func request(of driver: String, stationID: Int? = nil) async throws -> RequestView? {
        try await store.snapshot(stationID: stationID ?? defaultStationID)?.station.request(of: driver)
    }

    func clock(stationID: Int? = nil) async throws -> StationClock {
        guard let clock = try await store.snapshot(stationID: stationID ?? defaultStationID)?.clock else {
            throw APIError("充电站不存在")
        }
        return clock
    }

    /// Manual clock only: moves station time to `target`, applying every completion and
    /// dispatch in between at its own instant.
    func advanceManualClock(to target: Date, stationID: Int? = nil) async throws -> StationClock {
        let id = stationID ?? defaultStationID
        let current = try await clock(stationID: id)
        guard current.mode == .manual else { throw APIError("仅手动时钟模式可以推进时间") }
        guard target >= current.now else { throw APIError("时间不能倒退") }
        _ = try await store.update(stationID: id, offlineGrace: offlineGrace, setClockTo: target,
                                   alsoInTransaction: { try await Self.queueInstructions($0, clock: $1, on: $2) })
        return try await clock(stationID: id)
    }

    /// How long an engine instruction may wait for its delivery (a listener reconnecting, a busy owner) and
    /// for the pile's answer: the row's deadline is the OCPP CALL's too, so a charger that never answers a
    /// RemoteStartTransaction holds the calls behind it this long at most.
    static let instructionDeadline: Duration = .seconds(60)

    /// The station's power limit (nil: none); the shares follow at once. Answers the station's power afterwards.
    public func setPowerLimit(_ watts: Int64?, stationID: Int) async throws -> StationPower {
        _ = try await apply(.setPowerLimit(watts: watts), stationID: stationID)
        return try await power(stationID: stationID)
    }

    /// The least power a car can charge at on a pile of the station (nil: the station's default); the shares follow
    /// at once. Answers the station's power afterwards.
    public func setMinimumPower(_ watts: Int64?, pileID: Int, stationID: Int) async throws -> StationPower {
        _ = try await apply(.setMinimumPower(pileID: pileID, watts: watts), stationID: stationID)
        return try await power(stationID: stationID)
    }

    public func power(stationID: Int) async throws -> StationPower {
        guard let station = try await store.snapshot(stationID: stationID)?.station else { throw APIError("充电站不存在") }
        var power = station.power(stationID: stationID)
        power.measure(try await store.lastMeterReadings(stationID: stationID))
        return power
    }

    /// How long a charger has to acknowledge a power limit before it counts as one that refuses limits (at full power).
    static let powerLimitDeadline: Duration = .seconds(10)

    /// A power limit's answer: acknowledged, the engine counts the charger at it; refused, failed or unanswered,
    /// at the charger's full power. Other instructions change nothing here.
    /// A stop the charger took frees, under a limit, what its car drew.
    func instructionFinished(pileID: Int, instruction: PileInstruction, outcome: DeliveryOutcome) async {
        let command: StationCommand
        switch (instruction, outcome) {
        case (.setPower(let watts, let sequence), .delivered):
            command = .powerLimitAcknowledged(pileID: pileID, watts: watts, sequence: sequence)
        case (.setPower, _):
            command = .powerLimitRefused(pileID: pileID)
        case (.stopCharging(_, _, confirm: true), .delivered):
            command = .chargingStopped(pileID: pileID)
        default:
            return
        }
        do {
            _ = try await apply(command, pileID: pileID)
        } catch {
            logger.warning("power limit answer not applied", metadata: ["pile": "\(pileID)", "error": "\(error)"])
        }
    }

    /// Instructions for piles are rows of the committing transaction; its NOTIFY rings the owner's bell.
    @Sendable static func queueInstructions(_ effects: [StationEffect], clock: StationClock, on connection: PostgresConnection) async throws {
        for effect in effects {
            let instruction: (pileID: Int, PileInstruction)
            switch effect {
            case .limitPower(let pileID, let watts, let sequence):
                try await CommandDelivery.enqueue(.setPower(watts: watts, sequence: sequence), toPile: pileID, deadline: powerLimitDeadline, on: connection)
                continue
            case .reservePile(let pileID, let requestID, let driver, let expiresAt):
                let expiry = clock.realTime(atStation: Date(instant: expiresAt))
                try await CommandDelivery.enqueue(.reserve(requestID: requestID, driver: driver, expiresAt: expiry), toPile: pileID,
                                                  deadline: instructionDeadline, onlyOverProtocol: PileProtocolName.ocpp16.rawValue, on: connection)
                continue
            case .cancelPileReservation(let pileID, let requestID):
                try await CommandDelivery.enqueue(.cancelReservation(requestID: requestID), toPile: pileID,
                                                  deadline: instructionDeadline, onlyOverProtocol: PileProtocolName.ocpp16.rawValue, on: connection)
                continue
            case .startCharging(let pileID, let requestID, let driver, let queueNumber, let requestedKWh):
                instruction = (pileID, .startCharging(requestID: requestID, driver: driver, queueNumber: queueNumber, requestedKWh: requestedKWh))
            case .stopCharging(let pileID, let requestID, let reason):
                let confirm = effects.contains(.stopToBeConfirmed(pileID: pileID)) ? true : nil
                instruction = (pileID, .stopCharging(requestID: requestID, reason: reason, confirm: confirm))
            default:
                continue
            }
            try await CommandDelivery.enqueue(instruction.1, toPile: instruction.pileID, deadline: instructionDeadline, on: connection)
        }
    }
}

/// Which station each pile belongs to, as this instance learned it.
final class PileStations: Sendable {
    private let stations = Mutex<[Int: Int]>([:])

    func withLock<Result>(_ body: (inout [Int: Int]) -> Result) -> Result { stations.withLock { body(&$0) } }
}
