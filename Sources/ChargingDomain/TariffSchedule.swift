import Foundation

/// Time-of-use prices by local hour in the station's time zone.
public struct TariffSchedule: Codable, Sendable, Equatable {
    public var periods: [TariffPeriod]
    /// An IANA identifier such as "Asia/Shanghai".
    public var timeZoneIdentifier: String

    public init(periods: [TariffPeriod], timeZoneIdentifier: String = "Asia/Shanghai") {
        self.periods = periods
        self.timeZoneIdentifier = timeZoneIdentifier
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

    public var timeZone: TimeZone? { TimeZone(identifier: timeZoneIdentifier) }
}
