import Foundation

extension Decimal {
    /// `value × 10^-decimals`, built exactly from its digits.
    init(scaled value: Int64, decimals: Int) {
        let magnitude = Decimal(value.magnitude)
        self.init(sign: value < 0 ? .minus : .plus, exponent: -decimals, significand: magnitude)
    }

    /// Rounded half away from zero to an integer; nil when not finite or outside Int64.
    func roundedToInt64() -> Int64? {
        guard isFinite else { return nil }
        var source = self
        var rounded = Decimal()
        NSDecimalRound(&rounded, &source, 0, .plain)
        return Int64(rounded.description)
    }
}
