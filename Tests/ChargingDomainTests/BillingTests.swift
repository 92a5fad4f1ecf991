import ChargingDomain
import Foundation
import Testing

@Suite("Rule 9: billing by time-of-use tariff")
struct BillingTests {
    let clock = StationClock()

    func bill(_ settings: StationSettings, from start: Instant, _ amount: String, mode: ChargingMode = .slow) -> Bill {
        var station = Station.running(settings, at: start)
        station.submit("a", mode, amount, at: start)
        return station.advance(to: start + 24 * 3_600_000).bills[0]
    }

    @Test("split exactly at a period boundary: 06:30–07:30 at 10 kW")
    func acrossBoundary() {
        let bill = bill(settings(slow: 1), from: clock.at("06:30"), "10")
        // 5 kWh valley × 0.4 + 5 kWh flat × 0.7 = 5.5; service 10 × 0.8 = 8
        #expect(bill.chargingFee == kWh("5.5") && bill.serviceFee == 8 && bill.totalFee == kWh("13.5"))
    }

    @Test("through flat, peak, flat: 09:00–16:00 at 10 kW")
    func throughPeak() {
        let bill = bill(settings(slow: 1), from: clock.at("09:00"), "70")
        // 10 × 0.7 + 50 × 1.0 + 10 × 0.7 = 64; service 56
        #expect(bill.chargingFee == 64 && bill.serviceFee == 56 && bill.totalFee == 120)
    }

    @Test("across midnight: 22:30–00:30 at 30 kW")
    func acrossMidnight() {
        let bill = bill(settings(fast: 1), from: clock.at("22:30"), "60", mode: .fast)
        // 15 kWh flat × 0.7 + 45 kWh valley × 0.4 = 28.5; service 48
        #expect(bill.finishedAt == clock.at("00:30", dayOffset: 1))
        #expect(bill.chargingFee == kWh("28.5") && bill.serviceFee == 48 && bill.totalFee == kWh("76.5"))
    }

    @Test("local hours of the station's time zone: Asia/Kolkata (UTC+5:30)")
    func otherTimeZone() {
        let kolkata = StationClock(timeZone: "Asia/Kolkata")
        let bill = bill(settings(slow: 1, timeZone: "Asia/Kolkata"), from: kolkata.at("06:30"), "10")
        #expect(bill.chargingFee == kWh("5.5"))
    }

    @Test("a daylight-saving jump: 01:30 EST → 03:30 EDT is one real hour")
    func daylightSaving() {
        let newYork = StationClock(timeZone: "America/New_York", year: 2024, month: 3, day: 10)
        var custom = settings(slow: 1, timeZone: "America/New_York")
        custom.tariff.periods = [
            TariffPeriod(name: "night", startHour: 0, endHour: 3, pricePerKWh: 1),
            TariffPeriod(name: "day", startHour: 3, endHour: 0, pricePerKWh: kWh("0.5")),
        ]
        let bill = bill(custom, from: newYork.at("01:30"), "10")
        // 01:30–02:00 EST: 5 kWh × 1; 03:00–03:30 EDT: 5 kWh × 0.5
        #expect(bill.durationMs == 3_600_000)
        #expect(bill.chargingFee == kWh("7.5"))
    }

    @Test("rounded half-up to 2 decimals only when billed; the total adds the rounded parts")
    func rounding() {
        var station = Station.running(settings(slow: 1), at: clock.at("03:00"))
        station.submit("a", .slow, "10", at: clock.at("03:00"))
        // 2.25 s at 10 kW = 0.00625 kWh: charging 0.0025 → 0.00, service 0.005 → 0.01
        let bill = station.must(.cancel(driver: "a"), at: clock.at("03:00") + 2_250).bills[0]
        #expect(bill.energy == Energy(wattMilliseconds: 22_500_000))
        #expect(bill.chargingFee == 0 && bill.serviceFee == kWh("0.01") && bill.totalFee == kWh("0.01"))
    }

    @Test("an hour-long tariff walk matches the reference for odd start times")
    func oddTimes() {
        for start in [clock.at("06:59:59"), clock.at("09:17:31"), clock.at("20:45:10"), clock.at("22:59:59")] {
            let bill = bill(.standard, from: start, "37.77", mode: .fast)
            expectFeesMatchReference(bill, powerWatts: 30_000)
        }
    }

    @Test("the standard settings validate; a tariff with a gap does not")
    func validation() throws {
        try StationSettings.standard.validate()
        var broken = StationSettings.standard
        broken.tariff.periods.removeLast()
        #expect(throws: StationError.self) { try broken.validate() }
        var badZone = StationSettings.standard
        badZone.tariff.timeZoneIdentifier = "Mars/Olympus"
        #expect(throws: StationError.self) { try badZone.validate() }
        #expect(TariffSchedule.standard.period(atLocalHour: 23)?.name == "valley")
        #expect(TariffSchedule.standard.period(atLocalHour: 14)?.pricePerKWh == 1)
    }
}

@Suite("Meter readings override the model")
struct MeterTests {
    let clock = StationClock()

    @Test("a slower reading moves the completion later and the increment is spread over its time")
    func slowerReading() {
        var station = Station.running(settings(slow: 1), at: clock.at("06:30"))
        station.submit("a", .slow, "10", at: clock.at("06:30"))
        station.must(.meter(pileID: 1, requestID: 1, energyKWh: 4), at: clock.at("07:10"))  // the model says 6.67
        #expect(station.pileQueue(1)?.first?.chargedKWh == 4)
        // 6 kWh left at 10 kW = 36 min
        #expect(station.nextEventTime == clock.at("07:46"))
        let bill = station.advance(to: clock.at("09:00")).bills[0]
        // 4 kWh spread over 06:30–07:10: 3 kWh valley + 1 kWh flat; then 6 kWh flat = 1.2 + 0.7 + 4.2
        #expect(bill.energyKWh == 10 && bill.chargingFee == kWh("6.1") && bill.serviceFee == 8)
    }

    @Test("a reading at or above the target completes the session at once")
    func completesAtOnce() {
        var station = Station.running(settings(slow: 1), at: clock.at("06:00"))
        station.submit("a", .slow, "10", at: clock.at("06:00"))
        station.submit("b", .slow, "10", at: clock.at("06:00"))
        // A meter a little faster than the nominal 10 kW (within the 2 % tolerance) reaches the target early.
        let effects = station.must(.meter(pileID: 1, requestID: 1, energyKWh: kWh("10.03")), at: clock.at("06:59"))
        #expect(effects.bills.map(\.energyKWh) == [10])
        #expect(effects.startedDrivers == ["b"])
    }

    @Test("refused: unknown pile, another request, a reading below the last one, one above what the pile can deliver")
    func refusals() {
        var station = Station.running(settings(slow: 1), at: clock.at("06:00"))
        station.submit("a", .slow, "10", at: clock.at("06:00"))
        station.must(.meter(pileID: 1, requestID: 1, energyKWh: 3), at: clock.at("06:30"))
        let before = station
        #expect(throws: StationError.unknownPile) { try station.apply(.meter(pileID: 7, requestID: 1, energyKWh: 4), at: clock.at("06:40")) }
        #expect(throws: StationError.unknownRequest) { try station.apply(.meter(pileID: 1, requestID: 2, energyKWh: 4), at: clock.at("06:40")) }
        #expect(throws: StationError.invalidMeterReading) { try station.apply(.meter(pileID: 1, requestID: 1, energyKWh: 2), at: clock.at("06:40")) }
        #expect(throws: StationError.implausibleMeterReading) { try station.apply(.meter(pileID: 1, requestID: 1, energyKWh: 12), at: clock.at("06:40")) }
        #expect(station == before)
    }
}
