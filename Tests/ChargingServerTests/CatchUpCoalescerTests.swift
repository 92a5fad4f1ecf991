@testable import ChargingServer
import Synchronization
import Testing

@Suite("Catch-up coalescing")
struct CatchUpCoalescerTests {
    final class Log: Sendable {
        let entries = Mutex<[Int]>([])
        var count: Int { entries.withLock { $0.count } }
        func append(_ entry: Int) { entries.withLock { $0.append(entry) } }
    }

    @Test("a burst of 200 requests for one station shares a few runs, and each caller returns after a run that began after it asked")
    func burst() async {
        let coalescer = CatchUpCoalescer()
        let runs = Log()
        await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    let before = runs.count
                    await coalescer.run(stationID: 1) {
                        runs.append(1)
                        await Task.yield()
                    }
                    // A run that started after the request has finished: the count moved past it.
                    return runs.count > before
                }
            }
            for await coveredByLaterRun in group { #expect(coveredByLaterRun) }
        }
        #expect(runs.count < 200)
    }

    @Test("stations do not wait for each other")
    func stationsIndependent() async {
        let coalescer = CatchUpCoalescer()
        let finished = Log()
        let (slowStarted, started) = AsyncStream<Void>.makeStream()
        let (release, releasing) = AsyncStream<Void>.makeStream()
        let slow = Task {
            await coalescer.run(stationID: 1) {
                started.yield()
                for await _ in release { break }
                finished.append(1)
            }
        }
        for await _ in slowStarted { break }
        await coalescer.run(stationID: 2) { finished.append(2) }
        #expect(finished.entries.withLock { $0 } == [2])
        releasing.yield()
        await slow.value
        #expect(finished.entries.withLock { $0 } == [2, 1])
    }
}
