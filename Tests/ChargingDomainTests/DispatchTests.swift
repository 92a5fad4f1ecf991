import ChargingDomain
import Testing

@Suite("Rule 3: dispatch to the best pile")
struct DispatchTests {
    let clock = StationClock()

    @Test("the pile with the shortest completion time; ties go to the lowest pile id")
    func shortestCompletionTime() {
        var station = Station.running(settings(slow: 3), at: clock.at("06:00"))
        station.submit("a", .slow, "30", at: clock.at("06:00"))  // pile 1 (tie → lowest id), 3 h
        station.submit("b", .slow, "10", at: clock.at("06:00"))  // pile 2, 1 h
        station.submit("c", .slow, "20", at: clock.at("06:00"))  // pile 3, 2 h
        station.submit("d", .slow, "10", at: clock.at("06:00"))  // pile 2: 1 h + 1 h is best
        station.submit("e", .slow, "10", at: clock.at("06:00"))  // pile 2: 3 h, pile 3: 3 h, pile 1: 4 h → pile 2
        #expect(station.drivers(atPile: 1) == ["a"])
        #expect(station.drivers(atPile: 2) == ["b", "d", "e"])
        #expect(station.drivers(atPile: 3) == ["c"])
    }

    @Test("a car waits for its full best pile while another pile has a free slot, and dispatch for that mode stops")
    func waitsForFullBestPile() {
        var station = Station.running(settings(fast: 1, slow: 2, queueLength: 2), at: clock.at("06:00"))
        station.submit("a", .slow, "10", at: clock.at("06:00"))   // pile 2: a (1 h)
        station.submit("long", .slow, "100", at: clock.at("06:00"))  // pile 3: long (10 h)
        station.submit("b", .slow, "10", at: clock.at("06:00"))   // pile 2: a, b → full
        station.submit("d", .slow, "10", at: clock.at("06:05"))   // best is pile 2 (full); pile 3 has room
        station.submit("e", .slow, "1", at: clock.at("06:06"))    // behind d, waits too
        #expect(station.drivers(atPile: 3) == ["long"])
        #expect(station.waitingDrivers() == ["d", "e"])

        station.submit("f", .fast, "10", at: clock.at("06:07"))   // the other mode is not blocked
        #expect(station.drivers(atPile: 1) == ["f"])

        _ = station.advance(to: clock.at("07:00"))                // a completes: d joins pile 2, e waits again
        #expect(station.drivers(atPile: 2) == ["b", "d"])
        #expect(station.waitingDrivers() == ["e"])
    }

    @Test("no working pile of the mode: the car waits")
    func noWorkingPile() {
        var station = Station(settings: settings(fast: 1, slow: 1), now: clock.at("06:00"))
        station.must(.setPileStatus(pileID: 1, status: .on), at: clock.at("06:00"))
        station.submit("s", .slow, "10", at: clock.at("06:00"))
        #expect(station.waitingDrivers() == ["s"])
        let effects = station.must(.setPileStatus(pileID: 2, status: .on), at: clock.at("06:30"))
        #expect(effects.startedDrivers == ["s"])
    }
}
