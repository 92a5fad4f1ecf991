import Foundation

/// Time-of-use prices by local hour in the station's time zone.
public struct TariffSchedule: Codable, Sendable, Equatable {
    public var periods: [TariffPeriod] { didSet { hourlyPrices = Self.hourlyPrices(periods) } }
    /// An IANA identifier such as "Asia/Shanghai".
    public var timeZoneIdentifier: String { didSet { timeZone = TimeZone(identifier: timeZoneIdentifier) } }

    /// Derived once, not per fee: every meter reading prices its increment, and looking up a zone or
    /// converting 24 decimal prices each time was a visible share of a charging day's CPU.
    private(set) var hourlyPrices: [EnergyPrice]
    public private(set) var timeZone: TimeZone?

    public init(periods: [TariffPeriod], timeZoneIdentifier: String = "Asia/Shanghai") {
        self.periods = periods
        self.timeZoneIdentifier = timeZoneIdentifier
        hourlyPrices = Self.hourlyPrices(periods)
        timeZone = TimeZone(identifier: timeZoneIdentifier)
    }

    private enum CodingKeys: String, CodingKey { case periods, timeZoneIdentifier }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(periods: try container.decode([TariffPeriod].self, forKey: .periods),
                  timeZoneIdentifier: try container.decode(String.self, forKey: .timeZoneIdentifier))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(periods, forKey: .periods)
        try container.encode(timeZoneIdentifier, forKey: .timeZoneIdentifier)
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.periods == rhs.periods && lhs.timeZoneIdentifier == rhs.timeZoneIdentifier
    }

    /// Peak 1.0 at 10–15 h and 18–21 h; flat 0.7 at 7–10 h, 15–18 h, 21–23 h; valley 0.4 at 23–7 h.
    public static let standard = TariffSchedule(periods: [
        TariffPeriod(name: "valley", startHour: 23, endHour: 7, pricePerKWh: Decimal(string: "0.4")!),
        TariffPeriod(name: "flat", startHour: 7, endHour: 10, pricePerKWh: Decimal(string: "0.7")!),
        TariffPeriod(name: "peak", startHour: 10, endHour: 15, pricePerKWh: Decimal(string: "1.0")!),
        TariffPeriod(name: "flat", startHour: 15, endHour: 18, pricePerKWh: Decimal(string: "0.7")!),
        TariffPeriod(name: "peak", startHour: 18, endHour: 21, pricePerKWh: Decimal(string: "1.0")!),
        TariffPeriod(name: "flat", startHour: 21, endHour: 23, pricePerKWh: Decimal(string: "0.7")!),
    ])

    /// The first period that covers `localHour`, nil for an hour no period covers.
    public func period(atLocalHour localHour: Int) -> TariffPeriod? {
        periods.first { $0.contains(localHour: localHour) }
    }

    /// The exact price per local hour 0–23 (an hour no period covers costs nothing; validation forbids it).
    private static func hourlyPrices(_ periods: [TariffPeriod]) -> [EnergyPrice] {
        (0..<24).map { hour in
            periods.first { $0.contains(localHour: hour) }.flatMap { EnergyPrice(yuanPerKWh: $0.pricePerKWh) }
                ?? EnergyPrice(tenThousandthsOfYuan: 0)
        }
    }
}
