extension Station {
    /// Rule 3, for every mode (fast first; the modes do not interact).
    mutating func dispatch() -> [StationEffect] {
        var effects: [StationEffect] = []
        for mode in ChargingMode.allCases {
            effects += dispatch(mode)
        }
        return effects
    }

    /// The candidate (first displaced car, else the waiting car with the lowest number) joins its best pile
    /// while that pile has a free slot. When the best pile is full the candidate waits, even if another pile
    /// has room, and dispatch for the mode stops: the waiting area is never called past a displaced car.
    mutating func dispatch(_ mode: ChargingMode) -> [StationEffect] {
        var effects: [StationEffect] = []
        while let candidate = dispatchCandidate(mode),
              let best = bestPile(for: candidate, among: workingPileIndices(mode).filter { !isReserved(pileAt: $0, against: candidate) }),
              piles[best].queue.count < settings.queueLength {
            displaced.removeAll { $0 == candidate }
            waiting.removeAll { $0 == candidate }
            effects += enqueue(candidate, atPile: best)
        }
        return effects
    }

    /// An operator's reservation of the pile for another driver overlaps the time this car would charge there,
    /// at the end of the pile's queue as modelled now.
    func isReserved(pileAt index: Int, against requestID: Int64) -> Bool {
        guard !reservations.isEmpty else { return false }
        let car = request(requestID)
        return isReserved(pileAt: index, againstDriver: car.driver, adding: car.remaining)
    }

    func isReserved(pileAt index: Int, againstDriver driver: String, adding amount: Energy) -> Bool {
        guard !reservations.isEmpty else { return false }
        let windows = reservations.filter { $0.pileID == piles[index].id && $0.driver != driver }
        guard !windows.isEmpty else { return false }
        let start = now + completionDelay(ofPileAt: index, adding: .zero)
        let end = now + completionDelay(ofPileAt: index, adding: amount)
        return windows.contains { $0.overlaps(from: start, until: end) }
    }

    func dispatchCandidate(_ mode: ChargingMode) -> Int64? {
        if let first = displacedIDs(mode).first { return first }
        return sortedByNumber(waiting.filter { request($0).mode == mode }).first
    }

    /// The pile among `candidates` where the car would finish soonest; ties go to the lowest pile id.
    func bestPile(for requestID: Int64, among candidates: [Int]) -> Int? {
        let amount = request(requestID).remaining
        return candidates.min { lhs, rhs in
            let left = completionDelay(ofPileAt: lhs, adding: amount)
            let right = completionDelay(ofPileAt: rhs, adding: amount)
            return left != right ? left < right : piles[lhs].id < piles[rhs].id
        }
    }

    /// Milliseconds from now until a car needing `amount` would finish at the end of this pile's queue:
    /// the charging car's remaining time + the queued cars' charging times + its own.
    func completionDelay(ofPileAt index: Int, adding amount: Energy) -> Int64 {
        let pile = piles[index]
        var delay = amount.chargingTime(atPowerWatts: pile.powerWatts)
        for (position, id) in pile.queue.enumerated() {
            if position == 0, let session = pile.session {
                delay += session.completesAt - now
            } else {
                delay += request(id).remaining.chargingTime(atPowerWatts: pile.powerWatts)
            }
        }
        return delay
    }
}
