import Foundation

/// What the shell must do or record after a step, in the order it happened.
public enum StationEffect: Sendable, Equatable {
    case accepted(requestID: Int64, queueNumber: String)
    /// A mode change gave the request a new queue number.
    case renumbered(requestID: Int64, queueNumber: String)
    /// `requestedKWh` is what this session should deliver: the remainder after an interrupted session.
    case startCharging(pileID: Int, requestID: Int64, driver: String, queueNumber: String, requestedKWh: Decimal)
    case stopCharging(pileID: Int, requestID: Int64, reason: StopReason)
    /// Under a power limit, the car stopped at this pile counts until its charger has taken the stop: the shell
    /// tells the engine so (`chargingStopped`).
    case stopToBeConfirmed(pileID: Int)
    case billed(Bill)
    /// The request left the station (completed or cancelled); the driver may submit again.
    case requestFinished(requestID: Int64, driver: String, reason: StopReason)
    case pileStatusChanged(pileID: Int, status: PileStatus)
    /// Tell the charger to keep its car at or below `watts` (its full power lifts the limit); its answer names `sequence`.
    case limitPower(pileID: Int, watts: Int64, sequence: Int64)
    /// The car next at this pile has not reached it yet (another car charges there first, or it waits for power):
    /// the charger should keep the pile for this driver until `expiresAt` (station time), refusing other cards.
    case reservePile(pileID: Int, requestID: Int64, driver: String, expiresAt: Instant)
    /// The pile need no longer be kept for that car: it left, was moved, or the pile stopped working. Never
    /// emitted when the car started charging there: its start uses the reservation up.
    case cancelPileReservation(pileID: Int, requestID: Int64)
}
