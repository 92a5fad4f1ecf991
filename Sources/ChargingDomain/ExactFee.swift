import Foundation

/// A fee kept exact as energy (W·ms) × price (0.0001 yuan/kWh); 1 yuan = 3.6e13 units.
/// Fees are rounded only when shown or billed: `roundedYuan` is to 2 decimals, half-up.
public struct ExactFee: Codable, Sendable, Hashable, Comparable {
    public static let unitsPerYuan: Int64 = Energy.wattMillisecondsPerKWh * EnergyPrice.unitsPerYuan
    static let unitsPerCent: Int64 = unitsPerYuan / 100
    public static let zero = ExactFee(units: 0)

    public var units: Int64

    public init(units: Int64) {
        self.units = units
    }

    public init(energy: Energy, price: EnergyPrice) {
        units = energy.wattMilliseconds * price.tenThousandthsOfYuan
    }

    public var roundedYuan: Decimal {
        Decimal(scaled: floorDivide(units + ExactFee.unitsPerCent / 2, ExactFee.unitsPerCent), decimals: 2)
    }

    public static func < (lhs: ExactFee, rhs: ExactFee) -> Bool { lhs.units < rhs.units }
    public static func + (lhs: ExactFee, rhs: ExactFee) -> ExactFee { ExactFee(units: lhs.units + rhs.units) }
    public static func += (lhs: inout ExactFee, rhs: ExactFee) { lhs = lhs + rhs }

    public init(from decoder: Decoder) throws {
        units = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(units)
    }
}
