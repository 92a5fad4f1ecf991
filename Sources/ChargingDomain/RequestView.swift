import Foundation

/// A driver's active request, as `GET /user/charge/request` shows it.
/// Amounts of the request are in kWh to 6 decimals; the energy charged and the fees to 2 decimals.
public struct RequestView: Sendable, Equatable, Codable {
    /// The API's states; a car displaced by a fault shows as `waiting` with `isDisplaced`.
    public enum State: String, Sendable, Codable { case waiting, queued, charging }

    public var requestID: Int64
    public var driver: String
    public var queueNumber: String
    public var mode: ChargingMode
    public var requestedKWh: Decimal
    public var remainingKWh: Decimal
    public var state: State
    public var isDisplaced: Bool
    public var pileID: Int?
    /// Waiting: displaced cars of the mode plus waiting cars with a lower number. Displaced: displaced cars
    /// of the mode before it. At a pile: the cars before it in that pile's queue.
    public var carsAhead: Int
    public var waitingSeconds: Int64
    /// The whole request so far: finished sessions plus the current one. Rounded to 2 decimals.
    public var chargedKWh: Decimal
    public var chargingFee: Decimal
    public var serviceFee: Decimal
}
