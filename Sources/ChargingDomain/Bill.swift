import Foundation

/// A detail record: one charging session (an interrupted request has one per session).
/// Fees are rounded to 2 decimals half-up from the exact amounts, each on its own;
/// `totalFee = chargingFee + serviceFee` of the rounded figures, so a bill always adds up.
public struct Bill: Codable, Sendable, Equatable {
    /// Assigned by the engine, from 1, in the order bills are written.
    public var id: Int64
    public var requestID: Int64
    public var driver: String
    public var pileID: Int
    public var queueNumber: String
    /// The exact energy.
    public var energy: Energy
    public var durationMs: Int64
    public var startedAt: Instant
    public var finishedAt: Instant
    public var chargingFee: Decimal
    public var serviceFee: Decimal
    public var totalFee: Decimal
    public var endedBy: StopReason

    /// The energy rounded to 6 decimals (mWh).
    public var energyKWh: Decimal { energy.kWh(decimals: 6) }
}
