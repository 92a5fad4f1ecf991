extension Station {
    /// `billingUntil`: when the charging car stopped receiving energy, if before now (a pile that went offline).
    mutating func setStatus(ofPileAt index: Int, to status: PileStatus, billingUntil: Instant? = nil) -> [StationEffect] {
        let previous = piles[index].status
        guard previous != status else { return [] }
        piles[index].status = status
        var effects: [StationEffect] = [.pileStatusChanged(pileID: piles[index].id, status: status)]
        if previous.isWorking {
            effects += fault(pileAt: index, reason: status == .off ? .off : .fault, billingUntil: billingUntil)
        } else if status.isWorking {
            effects += recover(pileAt: index)
        }
        return effects + dispatch()
    }

    /// Rule 7: the charging car is billed and re-queued for its remainder, keeping its number; the pile's
    /// cars become displaced. `time_order` also takes the other working same-mode piles' queued cars.
    mutating func fault(pileAt index: Int, reason: StopReason, billingUntil: Instant? = nil) -> [StationEffect] {
        let mode = piles[index].mode
        var taken = piles[index].queue
        let effects = endSession(pileAt: index, reason: reason, until: billingUntil)
        piles[index].queue = []
        switch settings.faultPolicy {
        case .priority:
            displaced += taken
        case .timeOrder:
            taken += takeQueuedCars(ofOtherWorkingPilesLike: index)
            let all = sortedByNumber(displacedIDs(mode) + taken)
            displaced = displaced.filter { request($0).mode != mode }
            displaced += all
        }
        return effects
    }

    /// Rule 8: the other working same-mode piles' queued cars and the still-displaced cars, by number, each
    /// go to the pile with a free slot where it finishes soonest (the recovered pile included);
    /// those that fit nowhere stay displaced. Dispatch runs afterwards.
    mutating func recover(pileAt index: Int) -> [StationEffect] {
        let mode = piles[index].mode
        let taken = sortedByNumber(displacedIDs(mode) + takeQueuedCars(ofOtherWorkingPilesLike: index))
        displaced = displaced.filter { request($0).mode != mode }
        var effects: [StationEffect] = []
        for id in taken {
            let open = workingPileIndices(mode).filter { piles[$0].queue.count < settings.queueLength && !isReserved(pileAt: $0, against: id) }
            if let best = bestPile(for: id, among: open) {
                effects += enqueue(id, atPile: best)
            } else {
                displaced.append(id)
            }
        }
        return effects
    }

    /// Removes and returns the not-yet-charging cars of the other working piles of this pile's mode.
    private mutating func takeQueuedCars(ofOtherWorkingPilesLike index: Int) -> [Int64] {
        var taken: [Int64] = []
        for other in workingPileIndices(piles[index].mode) where other != index {
            taken += piles[other].queue.dropFirst()
            piles[other].queue = Array(piles[other].queue.prefix(1))
        }
        return taken
    }
}
