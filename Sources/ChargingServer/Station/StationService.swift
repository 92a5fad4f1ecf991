import ChargingDomain
import ChargingStore
import Foundation
import Logging
import PileRouting
import PostgresClient

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

    public init(store: StationStore, offlineGrace: Duration, defaultStationID: Int = 1, logger: Logger) {
        self.store = store
        self.offlineGrace = offlineGrace
        self.defaultStationID = defaultStationID
        self.logger = logger
    }

    /// Applies a command at a pile, in the pile's station.
    func apply(_ command: StationCommand, pileID: Int) async throws -> [StationEffect] {
        guard let stationID = try await store.stationID(ofPile: pileID) else { throw APIError(StationError.unknownPile.message) }
        return try await apply(command, stationID: stationID)
    }

    func stationID(ofPile pileID: Int) async throws -> Int? {
        try await store.stationID(ofPile: pileID)
    }

    /// Applies a driver's or a pile's command at station time now.
    func apply(_ command: StationCommand, stationID: Int? = nil) async throws -> [StationEffect] {
        do {
            return try await store.update(
                stationID: stationID ?? defaultStationID, offlineGrace: offlineGrace,
                { station, clock in try station.apply(command, at: clock.now.instant) },
                alsoInTransaction: Self.queueInstructions)
        } catch let error as StationError {
            throw APIError(error.message)
        } catch StoreError.notFound {
            throw APIError("充电站不存在")
        }
    }

    /// Applies completions due by now and any pile status changes; the ticker calls it.
    @discardableResult
    func catchUp(stationID: Int) async throws -> [StationEffect] {
        try await store.update(stationID: stationID, offlineGrace: offlineGrace, alsoInTransaction: Self.queueInstructions)
    }

    func needsCatchUp(stationID: Int) async throws -> Bool {
        try await store.needsCatchUp(stationID: stationID, offlineGrace: offlineGrace)
    }

    /// A pile's status changed in `piles`; the engine follows at once (the ticker would too). A burst
    /// of changes in one station shares its catch-ups.
    func pileStatusChanged(pileID: Int) async {
        do {
            guard let stationID = try await store.stationID(ofPile: pileID) else { return }
            await statusCatchUps.run(stationID: stationID) {
                do {
                    try await catchUp(stationID: stationID)
                } catch {
                    logger.warning("station catch-up failed", metadata: ["station": "\(stationID)", "error": "\(error)"])
                }
            }
        } catch {
            logger.warning("station catch-up failed", metadata: ["pile": "\(pileID)", "error": "\(error)"])
        }
    }

    /// A pile's meter frame; the refusal text when the reading doesn't fit.
    func meterReading(pileID: Int, requestID: Int64, energyKWh: Decimal) async throws -> String? {
        guard let stationID = try await store.stationID(ofPile: pileID) else { return StationError.unknownPile.message }
        do {
            _ = try await apply(.meter(pileID: pileID, requestID: requestID, energyKWh: energyKWh), stationID: stationID)
            return nil
        } catch let error as APIError {
            return error.message
        }
    }

    /// A charger ended a session itself (the car left): the meter's energy is the session's, and
    /// the car leaves as if its driver had cancelled. Nothing happens when the car no longer charges there.
    func chargerStopped(pileID: Int, requestID: Int64, energyKWh: Decimal) async throws {
        guard let charging = try await pileQueue(pileID: pileID)?.first(where: { $0.requestID == requestID && $0.state == .charging })
        else { return }
        if let refusal = try await meterReading(pileID: pileID, requestID: requestID, energyKWh: energyKWh) {
            logger.notice("final meter reading refused", metadata: ["pile": "\(pileID)", "why": "\(refusal)"])
        }
        // The reading may have completed the session; only a car still charging here is cancelled.
        guard try await pileQueue(pileID: pileID)?.contains(where: { $0.requestID == requestID && $0.state == .charging }) == true
        else { return }
        _ = try await apply(.cancel(driver: charging.driver), stationID: try await store.stationID(ofPile: pileID))
    }

    /// The charger's meterStop − meterStart for a session the station ended first: the bill takes it.
    func meterAtStop(stationID: Int, requestID: Int64, pileID: Int, energyKWh: Decimal) async throws {
        if try await store.correctBill(stationID: stationID, requestID: requestID, pileID: pileID, energyKWh: energyKWh) {
            logger.info("bill corrected to the charger's meter", metadata: ["pile": "\(pileID)", "request": "\(requestID)"])
        }
    }

    func pileQueue(pileID: Int) async throws -> [QueueEntry]? {
        guard let stationID = try await store.stationID(ofPile: pileID),
              let snapshot = try await store.snapshot(stationID: stationID)
        else { return nil }
        return snapshot.station.pileQueue(pileID)
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
                                   alsoInTransaction: Self.queueInstructions)
        return try await clock(stationID: id)
    }

    /// How long an engine instruction may wait for its delivery (a listener reconnecting, a busy owner).
    static let instructionDeadline: Duration = .seconds(300)

    /// Instructions for piles are rows of the committing transaction; its NOTIFY rings the owner's bell.
    @Sendable static func queueInstructions(_ effects: [StationEffect], on connection: PostgresConnection) async throws {
        for effect in effects {
            let instruction: (pileID: Int, PileInstruction)
            switch effect {
            case .startCharging(let pileID, let requestID, let driver, let queueNumber, let requestedKWh):
                instruction = (pileID, .startCharging(requestID: requestID, driver: driver, queueNumber: queueNumber, requestedKWh: requestedKWh))
            case .stopCharging(let pileID, let requestID, let reason):
                instruction = (pileID, .stopCharging(requestID: requestID, reason: reason))
            default:
                continue
            }
            try await CommandDelivery.enqueue(instruction.1, toPile: instruction.pileID, deadline: instructionDeadline, on: connection)
        }
    }
}
