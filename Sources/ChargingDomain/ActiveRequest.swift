import Foundation

/// One active request and where it is, for mirroring the station into plain tables.
public struct ActiveRequest: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable { case waiting, displaced, queued, charging }

    /// Where a request is: its state, and its pile and position there.
    public struct Place: Sendable, Equatable {
        public var state: State
        public var pileID: Int?
        /// 1 = charging, 2… = queued behind it; nil when not at a pile.
        public var queuePosition: Int?
    }

    public var requestID: Int64
    public var driver: String
    public var mode: ChargingMode
    public var queueNumber: String
    /// kWh, 6 decimals.
    public var requestedKWh: Decimal
    public var remainingKWh: Decimal
    public var batteryCapacityKWh: Decimal
    public var state: State
    public var pileID: Int?
    /// 1 = charging, 2… = queued behind it; nil when not at a pile.
    public var queuePosition: Int?
    public var submittedAt: Instant
    /// When charging first began (a car interrupted by a fault keeps this).
    public var firstChargedAt: Instant?
}
