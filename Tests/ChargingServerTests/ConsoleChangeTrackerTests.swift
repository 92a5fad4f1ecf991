@testable import ChargingServer
import ChargingStore
import Testing

@Suite("Console change counters")
struct ConsoleChangeTrackerTests {
    func reading(piles: Int64, bills: Int64 = 1, runningFrom: Int64, runningBefore: Int64) -> ConsoleStore.ChangeCounters {
        ConsoleStore.ChangeCounters(topics: ["piles": piles, "bills": bills], runningFrom: runningFrom, runningBefore: runningBefore)
    }

    @Test("a change is pushed when seen and once more when every transaction running then has ended; nothing while nothing changes")
    func settles() {
        var tracker = ConsoleChangeTracker()
        let start = ContinuousClock.now
        #expect(tracker.topics(after: reading(piles: 1, runningFrom: 100, runningBefore: 101), at: start).isEmpty)
        #expect(tracker.topics(after: reading(piles: 1, runningFrom: 100, runningBefore: 101), at: start).isEmpty)
        // Counted by transaction 104, maybe not committed yet: pushed now...
        #expect(tracker.topics(after: reading(piles: 2, runningFrom: 103, runningBefore: 105), at: start) == ["piles"])
        // ...not again while 103 or 104 may still run...
        #expect(tracker.topics(after: reading(piles: 2, runningFrom: 104, runningBefore: 106), at: start + .milliseconds(250)).isEmpty)
        // ...and once more when both have ended.
        #expect(tracker.topics(after: reading(piles: 2, runningFrom: 105, runningBefore: 106), at: start + .milliseconds(500)) == ["piles"])
        #expect(tracker.topics(after: reading(piles: 2, runningFrom: 106, runningBefore: 107), at: start + .milliseconds(750)).isEmpty)
    }

    @Test("a long transaction holding the horizon back delays the second push at most settleLimit")
    func longTransaction() {
        var tracker = ConsoleChangeTracker()
        let start = ContinuousClock.now
        _ = tracker.topics(after: reading(piles: 1, runningFrom: 50, runningBefore: 101), at: start)
        #expect(tracker.topics(after: reading(piles: 2, bills: 3, runningFrom: 50, runningBefore: 110), at: start) == ["bills", "piles"])
        #expect(tracker.topics(after: reading(piles: 2, bills: 3, runningFrom: 50, runningBefore: 120), at: start + .seconds(1)).isEmpty)
        #expect(tracker.topics(after: reading(piles: 2, bills: 3, runningFrom: 50, runningBefore: 130),
                               at: start + ConsoleChangeTracker.settleLimit) == ["bills", "piles"])
    }
}
