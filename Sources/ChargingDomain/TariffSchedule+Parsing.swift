import Foundation

extension TariffSchedule {
    /// The command line's tariff: periods `name:start-end=price`, comma-separated, local hours (`23-7` wraps past
    /// midnight), e.g. `valley:23-7=0.4,flat:7-10=0.7,peak:10-15=1.0,flat:15-18=0.7,peak:18-21=1.0,flat:21-23=0.7`.
    /// Nil when a period does not read; whether the periods cover each hour once is `StationSettings.validate`'s.
    public init?(periodsText text: String, timeZoneIdentifier: String = "Asia/Shanghai") {
        var periods: [TariffPeriod] = []
        for item in text.split(separator: ",") {
            let parts = item.trimmingCharacters(in: .whitespaces).split(separator: ":", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty else { return nil }
            let hoursAndPrice = parts[1].split(separator: "=")
            guard hoursAndPrice.count == 2 else { return nil }
            let hours = hoursAndPrice[0].split(separator: "-")
            guard hours.count == 2, let start = Int(hours[0]), let end = Int(hours[1]),
                  let price = Decimal(string: String(hoursAndPrice[1]), locale: Locale(identifier: "en_US_POSIX")),
                  hoursAndPrice[1].allSatisfy({ $0.isNumber || $0 == "." })
            else { return nil }
            periods.append(TariffPeriod(name: String(parts[0]), startHour: start, endHour: end, pricePerKWh: price))
        }
        guard !periods.isEmpty else { return nil }
        self.init(periods: periods, timeZoneIdentifier: timeZoneIdentifier)
    }
}
