import Foundation

/// A price that applies during local hours `startHour ..< endHour`; `endHour < startHour` wraps past midnight
/// (valley 23–7), `endHour == startHour` covers the whole day.
public struct TariffPeriod: Codable, Sendable, Equatable {
    public var name: String
    public var startHour: Int
    public var endHour: Int
    public var pricePerKWh: Decimal

    public init(name: String, startHour: Int, endHour: Int, pricePerKWh: Decimal) {
        self.name = name
        self.startHour = startHour
        self.endHour = endHour
        self.pricePerKWh = pricePerKWh
    }

    public func contains(localHour hour: Int) -> Bool {
        if startHour < endHour { return startHour <= hour && hour < endHour }
        if startHour > endHour { return hour >= startHour || hour < endHour }
        return true
    }
}
