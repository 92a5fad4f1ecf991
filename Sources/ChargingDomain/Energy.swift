import Foundation

/// An amount of energy in watt-milliseconds, so that the engine works with exact integers
/// (1 kWh = 3.6e9 W·ms; 1000 kWh = 3.6e12 W·ms fits an Int64 with plenty of room).
public struct Energy: Codable, Sendable, Hashable, Comparable {
    public static let wattMillisecondsPerKWh: Int64 = 3_600_000_000
    /// The largest amount a request or battery may have; keeps every fee product inside Int64.
    public static let maximum = Energy(wattMilliseconds: 1_000 * wattMillisecondsPerKWh)
    public static let zero = Energy(wattMilliseconds: 0)

    public var wattMilliseconds: Int64

    public init(wattMilliseconds: Int64) {
        self.wattMilliseconds = wattMilliseconds
    }

    /// Rounds to the nearest W·ms; nil when negative, not a number, or above `maximum`.
    public init?(kWh: Decimal) {
        guard kWh.isFinite, kWh >= 0, kWh <= Decimal(1_000),
              let value = (kWh * Decimal(Energy.wattMillisecondsPerKWh)).roundedToInt64()
        else { return nil }
        self.wattMilliseconds = value
    }

    /// The energy in kWh, rounded half-up to `decimals` places (6 places = mWh, the precision bills carry).
    public func kWh(decimals: Int = 6) -> Decimal {
        precondition((0...9).contains(decimals))
        let unit = Energy.wattMillisecondsPerKWh / Int64(pow(10, Double(decimals)))
        return Decimal(scaled: floorDivide(wattMilliseconds + unit / 2, unit), decimals: decimals)
    }

    /// Energy delivered at `powerWatts` during `milliseconds`.
    static func delivered(atPowerWatts powerWatts: Int64, during milliseconds: Int64) -> Energy {
        Energy(wattMilliseconds: powerWatts * milliseconds)
    }

    /// Milliseconds needed to deliver this energy at `powerWatts`, rounded up to a whole millisecond.
    func chargingTime(atPowerWatts powerWatts: Int64) -> Int64 {
        ceilDivide(wattMilliseconds, powerWatts)
    }

    public static func < (lhs: Energy, rhs: Energy) -> Bool { lhs.wattMilliseconds < rhs.wattMilliseconds }
    static func + (lhs: Energy, rhs: Energy) -> Energy { Energy(wattMilliseconds: lhs.wattMilliseconds + rhs.wattMilliseconds) }
    static func - (lhs: Energy, rhs: Energy) -> Energy { Energy(wattMilliseconds: lhs.wattMilliseconds - rhs.wattMilliseconds) }
    static func += (lhs: inout Energy, rhs: Energy) { lhs = lhs + rhs }

    public init(from decoder: Decoder) throws {
        wattMilliseconds = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(wattMilliseconds)
    }
}
