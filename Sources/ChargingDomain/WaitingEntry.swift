import Foundation

/// A car not at a pile, as `GET /admin/charge/waiting` shows it. Amounts in kWh to 6 decimals.
public struct WaitingEntry: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable { case displaced, waiting }

    public var requestID: Int64
    public var driver: String
    public var queueNumber: String
    public var mode: ChargingMode
    public var requestedKWh: Decimal
    public var remainingKWh: Decimal
    public var waitingSeconds: Int64
    public var state: State
}
