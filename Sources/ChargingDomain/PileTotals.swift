import Foundation

/// Rule 10: every detail record of a pile counts once, interrupted ones too.
public struct PileTotals: Codable, Sendable, Equatable {
    public var sessions: Int = 0
    public var energy: Energy = .zero
    public var durationMs: Int64 = 0

    public init() {}

    public var energyKWh: Decimal { energy.kWh(decimals: 6) }

    mutating func add(_ bill: Bill) {
        sessions += 1
        energy += bill.energy
        durationMs += bill.durationMs
    }
}
