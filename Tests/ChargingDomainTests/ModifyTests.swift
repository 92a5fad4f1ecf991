import ChargingDomain
import Testing

@Suite("Rule 6: changing a request")
struct ModifyTests {
    let clock = StationClock()

    /// One fast and one slow pile of one slot each, both busy; w1 (F), w2 (T), w3 (F) wait.
    func busyStation() -> Station {
        var station = Station.running(settings(fast: 1, slow: 1, queueLength: 1), at: clock.at("06:00"))
        station.submit("f", .fast, "30", at: clock.at("06:00"))
        station.submit("s", .slow, "30", at: clock.at("06:00"))
        station.submit("w1", .fast, "20", at: clock.at("06:01"))
        station.submit("w2", .slow, "20", at: clock.at("06:02"))
        station.submit("w3", .fast, "20", at: clock.at("06:03"))
        return station
    }

    @Test("a new amount keeps the number and the place")
    func amountKeepsNumber() {
        var station = busyStation()
        let effects = station.must(.modify(driver: "w1", mode: nil, requestedKWh: 12), at: clock.at("06:10"))
        #expect(effects.isEmpty)
        let view = station.request(of: "w1")!
        #expect(view.queueNumber == "F2" && view.requestedKWh == 12)
        #expect(station.waitingDrivers() == ["w1", "w2", "w3"])
    }

    @Test("a new mode takes a new number at the end of that mode's order")
    func modeTakesNewNumber() {
        var station = busyStation()
        let effects = station.must(.modify(driver: "w1", mode: .slow, requestedKWh: nil), at: clock.at("06:10"))
        #expect(effects == [.renumbered(requestID: 3, queueNumber: "T3")])
        #expect(station.waitingDrivers() == ["w2", "w3", "w1"])
        // The slow pile frees at 09:00: w2 (T2) goes before w1 (T3).
        _ = station.advance(to: clock.at("09:00"))
        #expect(station.drivers(atPile: 2) == ["w2"])
        // The old number is not reused.
        station.submit("n", .fast, "5", at: clock.at("09:01"))
        #expect(station.request(of: "n")?.queueNumber == "F4")
    }

    @Test("the same mode again keeps the number")
    func sameModeKeepsNumber() {
        var station = busyStation()
        station.must(.modify(driver: "w1", mode: .fast, requestedKWh: nil), at: clock.at("06:10"))
        #expect(station.request(of: "w1")?.queueNumber == "F2")
    }

    @Test("a car that changes to a mode with room goes straight to that pile")
    func changeToFreeMode() {
        var station = Station.running(settings(fast: 1, slow: 1, queueLength: 1), at: clock.at("06:00"))
        station.submit("f", .fast, "30", at: clock.at("06:00"))
        station.submit("w", .fast, "20", at: clock.at("06:00"))
        let effects = station.must(.modify(driver: "w", mode: .slow, requestedKWh: nil), at: clock.at("06:10"))
        #expect(effects.startedDrivers == ["w"])
    }

    @Test("refused outside the waiting area, with a bad amount, or with nothing to change")
    func refusals() {
        var station = busyStation()
        station.must(.setPileStatus(pileID: 1, status: .repair), at: clock.at("06:05"))  // f becomes displaced
        let before = station
        let cases: [(StationCommand, StationError)] = [
            (.modify(driver: "s", mode: nil, requestedKWh: 5), .notInWaitingArea),        // charging
            (.modify(driver: "f", mode: nil, requestedKWh: 5), .notInWaitingArea),        // displaced
            (.modify(driver: "w1", mode: nil, requestedKWh: 0), .invalidAmount),
            (.modify(driver: "w1", mode: nil, requestedKWh: 201), .invalidAmount),        // battery 200
            (.modify(driver: "w1", mode: nil, requestedKWh: nil), .nothingToModify),
            (.modify(driver: "nobody", mode: .fast, requestedKWh: nil), .noActiveRequest),
        ]
        for (command, error) in cases {
            #expect(throws: error) { try station.apply(command, at: clock.at("06:10")) }
        }
        #expect(station == before)
    }

    @Test("refused for a queued car")
    func queuedCar() {
        var station = Station.running(settings(slow: 1, queueLength: 2), at: clock.at("06:00"))
        station.submit("a", .slow, "10", at: clock.at("06:00"))
        station.submit("b", .slow, "10", at: clock.at("06:00"))
        #expect(throws: StationError.notInWaitingArea) {
            try station.apply(.modify(driver: "b", mode: nil, requestedKWh: 5), at: clock.at("06:10"))
        }
    }
}
