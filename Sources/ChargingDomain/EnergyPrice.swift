import Foundation

/// A price per kWh in ten-thousandths of a yuan (0.0001 yuan/kWh), an exact integer.
public struct EnergyPrice: Codable, Sendable, Hashable, Comparable {
    public static let unitsPerYuan: Int64 = 10_000
    /// Keeps `energy × price` inside Int64 for any amount up to `Energy.maximum`.
    public static let maximum = EnergyPrice(tenThousandthsOfYuan: 100 * unitsPerYuan)

    public var tenThousandthsOfYuan: Int64

    public init(tenThousandthsOfYuan: Int64) {
        self.tenThousandthsOfYuan = tenThousandthsOfYuan
    }

    /// Exact only: nil unless the price is a whole number of 0.0001 yuan between 0 and `maximum`.
    public init?(yuanPerKWh: Decimal) {
        guard yuanPerKWh.isFinite, yuanPerKWh >= 0 else { return nil }
        let scaled = yuanPerKWh * Decimal(EnergyPrice.unitsPerYuan)
        guard let units = scaled.roundedToInt64(), Decimal(units) == scaled,
              units <= EnergyPrice.maximum.tenThousandthsOfYuan
        else { return nil }
        self.tenThousandthsOfYuan = units
    }

    public var yuanPerKWh: Decimal { Decimal(scaled: tenThousandthsOfYuan, decimals: 4) }

    public static func < (lhs: EnergyPrice, rhs: EnergyPrice) -> Bool {
        lhs.tenThousandthsOfYuan < rhs.tenThousandthsOfYuan
    }

    public init(from decoder: Decoder) throws {
        tenThousandthsOfYuan = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(tenThousandthsOfYuan)
    }
}
