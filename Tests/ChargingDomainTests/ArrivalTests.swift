import ChargingDomain
import Testing

@Suite("Rule 2: arrival and a full waiting area")
struct ArrivalTests {
    let clock = StationClock()

    @Test("refused when the waiting area holds N cars and the car cannot go straight to a pile")
    func refusedWhenFull() throws {
        var station = Station.running(settings(fast: 1, slow: 1, queueLength: 1, waitingCapacity: 2), at: clock.at("06:00"))
        station.submit("charging", .slow, "10", at: clock.at("06:00"))
        station.submit("w1", .slow, "10", at: clock.at("06:00"))
        station.submit("w2", .slow, "10", at: clock.at("06:00"))
        let before = station
        #expect(throws: StationError.waitingAreaFull) {
            try station.apply(.submit(driver: "late", mode: .slow, requestedKWh: 10, batteryCapacityKWh: 50), at: clock.at("06:10"))
        }
        #expect(station == before)
        #expect(station.request(of: "late") == nil)
    }

    @Test("accepted despite a full waiting area when it goes straight to a pile")
    func straightToPileWhenFull() {
        var station = Station.running(settings(fast: 1, slow: 1, queueLength: 1, waitingCapacity: 2), at: clock.at("06:00"))
        for driver in ["charging", "w1", "w2"] { station.submit(driver, .slow, "10", at: clock.at("06:00")) }
        station.submit("fast", .fast, "10", at: clock.at("06:10"))
        #expect(station.drivers(atPile: 1) == ["fast"])
    }

    @Test("dispatch runs first: a completion at the same instant makes room")
    func completionMakesRoomFirst() {
        var station = Station.running(settings(slow: 1, queueLength: 1, waitingCapacity: 1), at: clock.at("06:00"))
        station.submit("a", .slow, "10", at: clock.at("06:00"))  // completes 07:00
        station.submit("b", .slow, "10", at: clock.at("06:00"))
        station.submit("c", .slow, "10", at: clock.at("07:00"))
        #expect(station.drivers(atPile: 1) == ["b"])
        #expect(station.waitingDrivers() == ["c"])
    }

    @Test("refused amounts: zero, negative, above the battery, above 1000 kWh")
    func invalidAmounts() {
        var station = Station.running(at: clock.at("06:00"))
        for (amount, battery) in [("0", "50"), ("-1", "50"), ("50.001", "50"), ("1200", "1500")] {
            #expect(throws: StationError.invalidAmount) {
                try station.apply(.submit(driver: "a", mode: .fast, requestedKWh: kWh(amount), batteryCapacityKWh: kWh(battery)), at: clock.at("06:00"))
            }
        }
        station.submit("a", .fast, "50", at: clock.at("06:00"), battery: "50")
        #expect(throws: StationError.alreadyHasActiveRequest) {
            try station.apply(.submit(driver: "a", mode: .slow, requestedKWh: 5, batteryCapacityKWh: 50), at: clock.at("06:01"))
        }
    }
}
