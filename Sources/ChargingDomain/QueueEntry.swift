import Foundation

/// A car in a pile's queue, as `GET /admin/charge/queue` shows it.
/// Amounts of the request are in kWh to 6 decimals; the energy charged and the fees to 2 decimals.
public struct QueueEntry: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable { case charging, queued }

    public var requestID: Int64
    public var driver: String
    public var queueNumber: String
    public var batteryCapacityKWh: Decimal
    /// The amount the driver asked for.
    public var requestedKWh: Decimal
    /// What is still to deliver (less than requested after an interrupted session).
    public var remainingKWh: Decimal
    /// From submission until charging first began, or until now while not yet charging.
    public var waitingSeconds: Int64
    public var state: State
    /// For the charging car: its current session at this pile so far.
    public var chargedKWh: Decimal?
    public var chargingFee: Decimal?
    public var serviceFee: Decimal?
    /// chargingFee + serviceFee.
    public var fee: Decimal?
}
