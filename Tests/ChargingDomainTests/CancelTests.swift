import ChargingDomain
import Testing

@Suite("Rule 5: leaving in every state")
struct CancelTests {
    let clock = StationClock()

    /// One slow pile of two slots: a charges, b queued, c waiting.
    func busyStation() -> Station {
        var station = Station.running(settings(slow: 1, queueLength: 2), at: clock.at("06:00"))
        for driver in ["a", "b", "c"] { station.submit(driver, .slow, "10", at: clock.at("06:00")) }
        return station
    }

    @Test("a waiting car is removed, without a bill")
    func waiting() {
        var station = busyStation()
        let effects = station.must(.cancel(driver: "c"), at: clock.at("06:10"))
        #expect(effects == [.requestFinished(requestID: 3, driver: "c", reason: .cancelled)])
        #expect(station.waitingDrivers().isEmpty)
        station.submit("c", .slow, "5", at: clock.at("06:11"))  // may submit again
        #expect(station.request(of: "c")?.queueNumber == "T4")
    }

    @Test("a queued car is removed and the waiting car takes its slot")
    func queued() {
        var station = busyStation()
        let effects = station.must(.cancel(driver: "b"), at: clock.at("06:10"))
        #expect(effects.bills.isEmpty)
        #expect(station.drivers(atPile: 1) == ["a", "c"])
    }

    @Test("a charging car stops, is billed for what it received, and the next car starts")
    func charging() {
        var station = busyStation()
        let effects = station.must(.cancel(driver: "a"), at: clock.at("06:30"))
        #expect(effects.first == .stopCharging(pileID: 1, requestID: 1, reason: .cancelled))
        let bill = effects.bills[0]
        #expect(bill.energyKWh == 5)
        #expect(bill.durationMs == 30 * 60_000)
        #expect(bill.chargingFee == 2 && bill.serviceFee == 4 && bill.totalFee == 6)  // valley 0.4 × 5, 0.8 × 5
        #expect(bill.endedBy == .cancelled)
        #expect(effects.startedDrivers == ["b"])
        #expect(station.drivers(atPile: 1) == ["b", "c"])
        #expect(station.pileTotals(1)?.sessions == 1 && station.pileTotals(1)?.energy == bill.energy)
    }

    @Test("a displaced car is removed")
    func displaced() {
        var station = Station.running(settings(slow: 2, queueLength: 1), at: clock.at("06:00"))
        station.submit("a", .slow, "10", at: clock.at("06:00"))
        station.submit("b", .slow, "10", at: clock.at("06:00"))
        station.must(.setPileStatus(pileID: 1, status: .repair), at: clock.at("06:30"))
        #expect(station.waitingArea().map(\.state) == [.displaced])
        station.must(.cancel(driver: "a"), at: clock.at("06:40"))
        #expect(station.waitingArea().isEmpty)
    }

    @Test("no active request: refused")
    func nothingActive() {
        var station = busyStation()
        let before = station
        #expect(throws: StationError.noActiveRequest) { try station.apply(.cancel(driver: "nobody"), at: clock.at("06:10")) }
        #expect(station == before)
    }
}
