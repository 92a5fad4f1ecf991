import ChargingDomain
import Testing

@Suite("Rule 4: charging and completion")
struct CompletionTests {
    let clock = StationClock()

    @Test("on completion a bill is written and the next car starts at that same instant")
    func nextCarStartsAtOnce() {
        var station = Station.running(settings(slow: 1), at: clock.at("06:00"))
        station.submit("a", .slow, "10", at: clock.at("06:00"))
        station.submit("b", .slow, "5", at: clock.at("06:10"))
        #expect(station.nextEventTime == clock.at("07:00"))
        let effects = station.advance(to: clock.at("07:40"))
        let bills = effects.bills
        #expect(bills.map(\.driver) == ["a", "b"])
        #expect(bills[0].finishedAt == clock.at("07:00") && bills[0].endedBy == .completed)
        #expect(bills[1].startedAt == clock.at("07:00") && bills[1].finishedAt == clock.at("07:30"))
        #expect(effects.contains(.requestFinished(requestID: 1, driver: "a", reason: .completed)))
        #expect(station.now == clock.at("07:40"))
        #expect(station.nextEventTime == nil)
        #expect(station.request(of: "a") == nil)
    }

    @Test("completions due at an event's instant happen before it")
    func completionBeforeEvent() throws {
        var station = Station.running(settings(slow: 1, queueLength: 1), at: clock.at("06:00"))
        station.submit("a", .slow, "10", at: clock.at("06:00"))   // completes 07:00
        station.submit("w", .slow, "10", at: clock.at("06:00"))   // waits
        // At 07:00 w has already left the waiting area for the pile.
        #expect(throws: StationError.notInWaitingArea) {
            try station.apply(.modify(driver: "w", mode: nil, requestedKWh: 5), at: clock.at("07:00"))
        }
        // And a cancel at the completion instant finds nothing left to cancel.
        #expect(throws: StationError.noActiveRequest) {
            try station.apply(.cancel(driver: "a"), at: clock.at("07:00"))
        }
        let effects = try station.apply(.cancel(driver: "w"), at: clock.at("07:00"))
        #expect(effects.bills.map(\.driver) == ["a", "w"])
        #expect(effects.bills[1].energy == .zero && effects.bills[1].endedBy == .cancelled)
    }

    @Test("a completion that is not a whole millisecond is rounded up to the next one")
    func roundedUpToMillisecond() {
        var custom = settings(slow: 1)
        custom.piles[0].powerWatts = 7_000
        var station = Station.running(custom, at: clock.at("06:00"))
        station.submit("a", .slow, "1", at: clock.at("06:00"))
        // 3.6e9 W·ms / 7000 W = 514285.71… ms
        #expect(station.nextEventTime == clock.at("06:00") + 514_286)
        let bill = station.advance(to: clock.at("07:00")).bills[0]
        #expect(bill.energy == Energy(wattMilliseconds: 3_600_000_000))
        #expect(bill.durationMs == 514_286)
    }

    @Test("piles completing at the same instant are all handled, then dispatch")
    func simultaneousCompletions() {
        var station = Station.running(settings(slow: 2, queueLength: 1), at: clock.at("06:00"))
        station.submit("a", .slow, "10", at: clock.at("06:00"))
        station.submit("b", .slow, "10", at: clock.at("06:00"))
        station.submit("c", .slow, "10", at: clock.at("06:00"))
        station.submit("d", .slow, "10", at: clock.at("06:00"))
        let effects = station.advance(to: clock.at("07:00"))
        #expect(effects.bills.map(\.driver) == ["a", "b"])
        #expect(effects.startedDrivers == ["c", "d"])
        #expect(station.drivers(atPile: 1) == ["c"] && station.drivers(atPile: 2) == ["d"])
    }

    @Test("time never goes backwards")
    func timeOnlyMovesForward() {
        var station = Station.running(settings(slow: 1), at: clock.at("06:00"))
        _ = station.advance(to: clock.at("06:30"))
        _ = station.advance(to: clock.at("06:10"))
        #expect(station.now == clock.at("06:30"))
        station.submit("a", .slow, "10", at: clock.at("06:00"))
        #expect(station.request(of: "a")?.waitingSeconds == 0)
        #expect(station.nextEventTime == clock.at("07:30"))
    }
}
