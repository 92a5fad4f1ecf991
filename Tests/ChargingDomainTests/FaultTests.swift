import ChargingDomain
import Testing

@Suite("Rule 7: faults")
struct FaultTests {
    let clock = StationClock()

    /// Two slow piles of three slots: pile 1 [a, c, d], pile 2 [b, e], f waiting (its best pile, 1, is full).
    func busyStation(_ policy: FaultPolicy) -> Station {
        var station = Station.running(settings(slow: 2, policy: policy), at: clock.at("06:00"))
        for (driver, amount) in [("a", "10"), ("b", "20"), ("c", "10"), ("d", "10"), ("e", "10"), ("f", "10")] {
            station.submit(driver, .slow, amount, at: clock.at("06:00"))
        }
        #expect(station.drivers(atPile: 1) == ["a", "c", "d"])
        #expect(station.drivers(atPile: 2) == ["b", "e"])
        #expect(station.waitingDrivers() == ["f"])
        return station
    }

    @Test("priority: the charging car is billed and displaced first with the pile's cars; other piles keep theirs")
    func priority() {
        var station = busyStation(.priority)
        let effects = station.must(.setPileStatus(pileID: 1, status: .repair), at: clock.at("06:30"))
        #expect(effects.prefix(2) == [
            .pileStatusChanged(pileID: 1, status: .repair),
            .stopCharging(pileID: 1, requestID: 1, reason: .fault),
        ])
        let bill = effects.bills[0]
        #expect(bill.driver == "a" && bill.energyKWh == 5 && bill.endedBy == .fault && bill.queueNumber == "T1")
        // a (5 kWh left) fits pile 2; c and d wait as displaced cars, before the waiting area.
        #expect(effects.startedDrivers.isEmpty)
        #expect(station.drivers(atPile: 2) == ["b", "e", "a"])
        #expect(station.waitingArea().map { "\($0.driver) \($0.state.rawValue)" } == ["c displaced", "d displaced", "f waiting"])
        let a = station.request(of: "a")!
        #expect(a.queueNumber == "T1" && a.chargedKWh == 5 && a.remainingKWh == 5 && a.state == .queued)
        // When pile 2 frees a slot the displaced cars go first.
        _ = station.advance(to: clock.at("08:00"))  // b completes
        #expect(station.drivers(atPile: 2) == ["e", "a", "c"])
        #expect(station.waitingDrivers() == ["d", "f"])
    }

    @Test("time_order: the other piles' queued cars join the displaced ones, all by number")
    func timeOrder() {
        var station = busyStation(.timeOrder)
        station.must(.setPileStatus(pileID: 1, status: .repair), at: clock.at("06:30"))
        #expect(station.drivers(atPile: 2) == ["b", "a", "c"])
        #expect(station.waitingArea().map { "\($0.driver) \($0.state.rawValue)" } == ["d displaced", "e displaced", "f waiting"])
    }

    @Test("the re-queued car charges only its remainder, keeping its number")
    func remainderOnly() {
        var station = Station.running(settings(slow: 2, queueLength: 1), at: clock.at("06:00"))
        station.submit("a", .slow, "10", at: clock.at("06:00"))
        let effects = station.must(.setPileStatus(pileID: 1, status: .off), at: clock.at("06:30"))
        #expect(effects.contains(.stopCharging(pileID: 1, requestID: 1, reason: .off)))
        #expect(effects.contains(.startCharging(pileID: 2, requestID: 1, driver: "a", queueNumber: "T1", requestedKWh: 5)))
        let bills = effects.bills + station.advance(to: clock.at("08:00")).bills
        #expect(bills.map(\.energyKWh) == [5, 5])
        #expect(bills.map(\.endedBy) == [.off, .completed])
        #expect(bills[1].finishedAt == clock.at("07:00"))
        #expect(station.pileTotals(1)?.sessions == 1 && station.pileTotals(2)?.sessions == 1)
    }

    @Test("offline counts as a fault; the same status again and a change between non-working states do nothing more")
    func statusChanges() {
        var station = Station.running(settings(slow: 2, queueLength: 1), at: clock.at("06:00"))
        station.submit("a", .slow, "10", at: clock.at("06:00"))
        let offline = station.must(.setPileStatus(pileID: 1, status: .offline), at: clock.at("06:10"))
        #expect(offline.contains(.stopCharging(pileID: 1, requestID: 1, reason: .fault)))
        #expect(station.must(.setPileStatus(pileID: 1, status: .offline), at: clock.at("06:20")).isEmpty)
        #expect(station.must(.setPileStatus(pileID: 1, status: .repair), at: clock.at("06:20")) == [.pileStatusChanged(pileID: 1, status: .repair)])
        #expect(station.pileStatus(1) == .repair)
        #expect(throws: StationError.unknownPile) { try station.apply(.setPileStatus(pileID: 9, status: .on), at: clock.at("06:30")) }
    }
}

@Suite("Rule 8: recovery")
struct RecoveryTests {
    let clock = StationClock()

    @Test("queued cars of the other piles and the displaced cars are re-placed by number, then dispatch runs")
    func replacedByNumber() {
        var station = FaultTests().busyStation(.priority)
        station.must(.setPileStatus(pileID: 1, status: .repair), at: clock.at("06:30"))
        // pile 2 [b, e, a], displaced [c, d], waiting [f]
        let effects = station.must(.setPileStatus(pileID: 1, status: .on), at: clock.at("07:00"))
        // a (30 min) → 1; c → 1 (1 h 30 vs 2 h); d → 2 (2 h vs 2 h 30); e → 1 (2 h 30 vs 3 h); then f → 2.
        #expect(station.drivers(atPile: 1) == ["a", "c", "e"])
        #expect(station.drivers(atPile: 2) == ["b", "d", "f"])
        #expect(station.waitingArea().isEmpty)
        #expect(effects.startedDrivers == ["a"])
    }

    @Test("cars that fit nowhere stay displaced")
    func fitNowhere() {
        var station = Station.running(settings(slow: 3, queueLength: 1), at: clock.at("06:00"))
        for driver in ["a", "b", "c"] { station.submit(driver, .slow, "10", at: clock.at("06:00")) }
        station.must(.setPileStatus(pileID: 1, status: .repair), at: clock.at("06:10"))
        station.must(.setPileStatus(pileID: 2, status: .repair), at: clock.at("06:10"))
        #expect(station.waitingArea().map(\.driver) == ["a", "b"])
        station.must(.setPileStatus(pileID: 1, status: .on), at: clock.at("06:20"))
        #expect(station.drivers(atPile: 1) == ["a"])
        #expect(station.waitingArea().map { "\($0.driver) \($0.state.rawValue)" } == ["b displaced"])
        #expect(station.request(of: "b")?.isDisplaced == true)
    }
}
