/// Runs a station's catch-up once for a burst of requests: a request made while one runs waits for
/// the next run, which starts after the current one and covers every request made meanwhile. So
/// 2,000 piles dropping at once cost a few catch-ups per station, not 2,000 (each holds the
/// station's lock and a pooled connection), and every caller still returns after a run that began
/// after its change.
actor CatchUpCoalescer {
    private struct Station {
        var running = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private var stations: [Int: Station] = [:]

    func run(stationID: Int, _ catchUp: @Sendable () async -> Void) async {
        if stations[stationID, default: Station()].running {
            await withCheckedContinuation { stations[stationID, default: Station()].waiting.append($0) }
            return
        }
        stations[stationID, default: Station()].running = true
        var covered: [CheckedContinuation<Void, Never>] = []
        while true {
            await catchUp()
            for caller in covered { caller.resume() }
            covered = stations[stationID]?.waiting ?? []
            stations[stationID]?.waiting = []
            if covered.isEmpty { break }
        }
        stations[stationID] = nil
    }
}
