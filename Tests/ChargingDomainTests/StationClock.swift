import ChargingDomain
import Foundation

/// Wall-clock instants in the station's time zone for readable tests.
struct StationClock {
    let calendar: Calendar
    let year: Int, month: Int, day: Int

    init(timeZone: String = "Asia/Shanghai", year: Int = 2024, month: Int = 5, day: Int = 20) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: timeZone)!
        self.calendar = calendar
        self.year = year
        self.month = month
        self.day = day
    }

    /// "HH:mm" or "HH:mm:ss" on the clock's day (+ `dayOffset`).
    func at(_ time: String, dayOffset: Int = 0) -> Instant {
        let parts = time.split(separator: ":").map { Int($0)! }
        let components = DateComponents(
            year: year, month: month, day: day + dayOffset,
            hour: parts[0], minute: parts[1], second: parts.count > 2 ? parts[2] : 0)
        return Instant(calendar.date(from: components)!.timeIntervalSince1970 * 1_000)
    }

    func wallTime(_ instant: Instant) -> String {
        let date = Date(timeIntervalSince1970: Double(instant) / 1_000)
        let parts = calendar.dateComponents([.day, .hour, .minute, .second], from: date)
        return String(format: "+%dd %02d:%02d:%02d", parts.day! - day, parts.hour!, parts.minute!, parts.second!)
    }
}

func kWh(_ text: String) -> Decimal { Decimal(string: text)! }
