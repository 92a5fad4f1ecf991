@testable import ChargingServer
import ChargingStore
import Testing

@Suite("Console change counters")
struct ConsoleChangeTrackerTests {
    func reading(piles: Int64, bills: Int64 = 1, runningFrom: Int64, runningBefore: Int64) -> ConsoleStore.ChangeCounters {
        ConsoleStore.ChangeCounters(topics: ["piles": piles, "bills": bills], runningFrom: runningFrom, runningBefore: runningBefore)
    }

    @Test("on a quiet database a change is pushed once, when seen; nothing while nothing changes")
    func quiet() {
        var tracker = ConsoleChangeTracker()
        let start = ContinuousClock.now
        #expect(tracker.topics(after: reading(piles: 1, runningFrom: 100, runningBefore: 100), at: start).isEmpty)
        #expect(tracker.topics(after: reading(piles: 2, runningFrom: 101, runningBefore: 101), at: start) == ["piles"])
        #expect(tracker.topics(after: reading(piles: 2, runningFrom: 101, runningBefore: 101), at: start).isEmpty)
    }

    @Test("a change counted by a transaction that may still run is pushed when every transaction running then has ended")
    func settles() {
        var tracker = ConsoleChangeTracker()
        let start = ContinuousClock.now
        _ = tracker.topics(after: reading(piles: 1, runningFrom: 100, runningBefore: 101), at: start)
        // Counted by 103 or 104, which may not have committed: not yet.
        #expect(tracker.topics(after: reading(piles: 2, runningFrom: 103, runningBefore: 105), at: start).isEmpty)
        // More changes meanwhile (by 105): still waiting for 103 and 104.
        #expect(tracker.topics(after: reading(piles: 3, runningFrom: 104, runningBefore: 106), at: start + .milliseconds(250)).isEmpty)
        // 103 and 104 have ended: pushed; 105 may still run, so the later change waits for its own push.
        #expect(tracker.topics(after: reading(piles: 3, runningFrom: 105, runningBefore: 107), at: start + .milliseconds(500)) == ["piles"])
        #expect(tracker.topics(after: reading(piles: 3, runningFrom: 106, runningBefore: 107), at: start + .milliseconds(750)).isEmpty)
        #expect(tracker.topics(after: reading(piles: 3, runningFrom: 107, runningBefore: 108), at: start + .seconds(1)) == ["piles"])
        #expect(tracker.topics(after: reading(piles: 3, runningFrom: 108, runningBefore: 109), at: start + .milliseconds(1250)).isEmpty)
    }

    @Test("a long transaction holding the horizon back delays a push at most settleLimit")
    func longTransaction() {
        var tracker = ConsoleChangeTracker()
        let start = ContinuousClock.now
        _ = tracker.topics(after: reading(piles: 1, runningFrom: 50, runningBefore: 101), at: start)
        #expect(tracker.topics(after: reading(piles: 2, bills: 3, runningFrom: 50, runningBefore: 110), at: start).isEmpty)
        #expect(tracker.topics(after: reading(piles: 2, bills: 3, runningFrom: 50, runningBefore: 120), at: start + .seconds(1)).isEmpty)
        #expect(tracker.topics(after: reading(piles: 2, bills: 3, runningFrom: 50, runningBefore: 130),
                               at: start + ConsoleChangeTracker.settleLimit) == ["bills", "piles"])
    }
}
