/// The car a pile is kept for: the first one in its queue that is not charging yet.
struct ReservationHolder: Equatable {
    var requestID: Int64
    var driver: String
}

extension Station {
    /// For every working pile with a car still to come: that car (the one after the car charging, or the car at
    /// the head waiting for power under a limit). A pile that does not work keeps nothing.
    var reservationHolders: [Int: ReservationHolder] {
        var holders: [Int: ReservationHolder] = [:]
        for pile in piles where pile.status.isWorking {
            let next = pile.session == nil ? pile.queue.first : pile.queue.dropFirst().first
            if let next, let index = requestIndex(id: next) {
                holders[pile.id] = ReservationHolder(requestID: next, driver: requests[index].driver)
            }
        }
        return holders
    }

    /// When the car a pile is kept for is expected there, plus the station's reservation time.
    func reservationExpiry(ofPileAt index: Int) -> Instant {
        let arrival = max(now, piles[index].session?.completesAt ?? now)
        return arrival + Int64(settings.reservationMinutes) * 60 * Milliseconds.perSecond
    }

    /// What changed since `before`: a cancel for each car no longer kept for (unless it now charges there), then
    /// a reservation for each new one, in pile order.
    func reservationChanges(since before: [Int: ReservationHolder]) -> [StationEffect] {
        let after = reservationHolders
        var effects: [StationEffect] = []
        for (index, pile) in piles.enumerated() {
            let old = before[pile.id], new = after[pile.id]
            guard old != new else { continue }
            if let old, pile.session?.requestID != old.requestID {
                effects.append(.cancelPileReservation(pileID: pile.id, requestID: old.requestID))
            }
            if let new {
                effects.append(.reservePile(pileID: pile.id, requestID: new.requestID, driver: new.driver,
                                            expiresAt: reservationExpiry(ofPileAt: index)))
            }
        }
        return effects
    }
}
