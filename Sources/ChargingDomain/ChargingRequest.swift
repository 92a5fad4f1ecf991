import Foundation

/// An active request: from acceptance until it completes or is cancelled.
struct ChargingRequest: Codable, Sendable, Equatable {
    let id: Int64
    let driver: String
    var mode: ChargingMode
    /// The per-mode counter of the queue number (rule 1).
    var number: Int
    var requested: Energy
    let batteryCapacity: Energy
    let submittedAt: Instant
    var firstChargedAt: Instant?
    /// Totals of the sessions already billed (interrupted by a fault).
    var delivered: Energy = .zero
    var chargingFee: ExactFee = .zero
    var serviceFee: ExactFee = .zero

    var remaining: Energy { requested - delivered }
    var queueNumber: String { mode.rawValue + String(number) }

    func waitingMilliseconds(at now: Instant) -> Int64 {
        max(0, (firstChargedAt ?? now) - submittedAt)
    }
}
