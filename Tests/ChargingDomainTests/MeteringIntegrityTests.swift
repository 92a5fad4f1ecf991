import ChargingDomain
import Foundation
import Testing

/// Issue 10, item 7, at engine level: impossible meter readings, and a pile that went offline.
@Suite("Metering and billing integrity")
struct MeteringIntegrityTests {
    let clock = StationClock()

    /// One fast pile (30 kW) charging driver "a" for 30 kWh since 09:00.
    func charging() -> Station {
        var station = Station.running(settings(fast: 1), at: clock.at("09:00"))
        station.submit("a", .fast, "30", at: clock.at("09:00"))
        return station
    }

    @Test("9.9 kWh one second after the start is impossible at 30 kW: refused, nothing changes, nothing is billed")
    func impossibleReadingRefused() {
        var station = charging()
        let before = station
        #expect(throws: StationError.implausibleMeterReading) {
            try station.apply(.meter(pileID: 1, requestID: 1, energyKWh: kWh("9.9")), at: clock.at("09:00:01"))
        }
        #expect(station == before)
        // The session goes on as modelled: one hour at 30 kW, one bill of 30 kWh.
        let bills = station.advance(to: clock.at("10:00")).bills
        #expect(bills.count == 1)
        #expect(bills.first?.energyKWh == 30 && bills.first?.finishedAt == clock.at("10:00"))
    }

    @Test("the bound is power × time since the start + 2 % + 5 Wh")
    func bound() {
        // 60 s at 30 kW is 500 Wh; + 10 Wh (2 %) + 5 Wh.
        var station = charging()
        #expect(throws: StationError.implausibleMeterReading) {
            try station.apply(.meter(pileID: 1, requestID: 1, energyKWh: kWh("0.516")), at: clock.at("09:01"))
        }
        station.must(.meter(pileID: 1, requestID: 1, energyKWh: kWh("0.515")), at: clock.at("09:01"))
        #expect(station.request(of: "a")?.chargedKWh == kWh("0.52"))  // shown to 2 decimals
        // Later readings count from the session's start, not from the last reading.
        station.must(.meter(pileID: 1, requestID: 1, energyKWh: kWh("1.0")), at: clock.at("09:02"))
        #expect(MeterPlausibility.maximum(powerWatts: 30_000, during: 60_000) == Energy(kWh: kWh("0.515")))
        #expect(MeterPlausibility.maximum(powerWatts: 30_000, during: -5) == Energy(kWh: kWh("0.005")))
    }

    @Test("a reading that goes backwards is refused and changes nothing")
    func backwardsRefused() {
        var station = charging()
        station.must(.meter(pileID: 1, requestID: 1, energyKWh: 4), at: clock.at("09:10"))
        let before = station
        #expect(throws: StationError.invalidMeterReading) {
            try station.apply(.meter(pileID: 1, requestID: 1, energyKWh: kWh("3.999")), at: clock.at("09:11"))
        }
        #expect(station == before)
        #expect(StationError.invalidMeterReading.message != StationError.implausibleMeterReading.message)
    }

    @Test("a pile offline past its grace: the fault's bill ends when it went offline, the rest is charged again later")
    func offlineBilledToDisconnect() {
        var station = charging()
        // Offline at 09:10, past the 60 s grace at 09:11: 10 minutes at 30 kW = 5 kWh, not 5.5.
        let effects = station.must(.pileOffline(pileID: 1, since: clock.at("09:10")), at: clock.at("09:11"))
        let bill = try! #require(effects.bills.first)
        #expect(bill.energyKWh == 5)
        #expect(bill.finishedAt == clock.at("09:10") && bill.durationMs == 600_000)
        #expect(bill.endedBy == .fault)
        #expect(bill.totalFee == kWh("7.5"))  // 5 kWh × (flat 0.7 + service 0.8)
        #expect(station.pileStatus(1) == .offline)
        // The car is displaced with 25 kWh left, and charges them when the pile is back.
        station.must(.setPileStatus(pileID: 1, status: .on), at: clock.at("09:20"))
        #expect(station.request(of: "a")?.state == .charging)
        let rest = station.advance(to: clock.at("12:00")).bills
        #expect(rest.map(\.energyKWh) == [25])
    }

    @Test("offline billing never ends before the last meter reading, nor after now")
    func offlineClamped() {
        var station = charging()
        station.must(.meter(pileID: 1, requestID: 1, energyKWh: 4), at: clock.at("09:10"))
        var early = station
        let bill = early.must(.pileOffline(pileID: 1, since: clock.at("09:05")), at: clock.at("09:12")).bills.first
        #expect(bill?.energyKWh == 4 && bill?.finishedAt == clock.at("09:10"))
        var late = station
        let lateBill = late.must(.pileOffline(pileID: 1, since: clock.at("10:30")), at: clock.at("09:12")).bills.first
        #expect(lateBill?.finishedAt == clock.at("09:12") && lateBill?.energyKWh == 5)
        // A plain offline status (no time known) bills through now, as before.
        var plain = station
        #expect(plain.must(.setPileStatus(pileID: 1, status: .offline), at: clock.at("09:12")).bills.first?.energyKWh == 5)
        #expect(throws: StationError.unknownPile) { try station.apply(.pileOffline(pileID: 9, since: 0), at: clock.at("09:12")) }
    }
}
