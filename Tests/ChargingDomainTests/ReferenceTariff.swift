import ChargingDomain
import Foundation

/// An independent, deliberately plain fee calculation for checking bills: walk the session hour by hour
/// with Calendar, price each local hour with hard-coded standard prices, and count in fen.
struct ReferenceTariff {
    let calendar: Calendar

    init(timeZone: String = "Asia/Shanghai") {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: timeZone)!
        self.calendar = calendar
    }

    static func fenPerKWh(localHour hour: Int) -> Int64 {
        switch hour {
        case 10..<15, 18..<21: 100
        case 7..<10, 15..<18, 21..<23: 70
        default: 40
        }
    }

    /// (charging fee, service fee, total) in yuan, 2 decimals, for energy delivered at constant power
    /// from `start` until `energyWms` is reached or `end` comes.
    func fees(powerWatts: Int64, start: Instant, end: Instant, energyWms: Int64) -> (Decimal, Decimal, Decimal) {
        var cursor = start
        var left = energyWms
        var fenNumerator: Int64 = 0  // W·ms × fen/kWh
        while cursor < end && left > 0 {
            let date = Date(timeIntervalSince1970: Double(cursor) / 1_000)
            let hourEnd = Instant(calendar.dateInterval(of: .hour, for: date)!.end.timeIntervalSince1970 * 1_000)
            let stretch = min(hourEnd, end) - cursor
            let energy = min(left, powerWatts * stretch)
            fenNumerator += energy * Self.fenPerKWh(localHour: calendar.component(.hour, from: date))
            left -= energy
            cursor += stretch
        }
        let wmsPerKWh: Int64 = 3_600_000_000
        let chargingFen = (fenNumerator + wmsPerKWh / 2) / wmsPerKWh
        let serviceFen = (energyWms * 80 + wmsPerKWh / 2) / wmsPerKWh
        return (yuan(chargingFen), yuan(serviceFen), yuan(chargingFen + serviceFen))
    }

    private func yuan(_ fen: Int64) -> Decimal { Decimal(fen) / 100 }
}
