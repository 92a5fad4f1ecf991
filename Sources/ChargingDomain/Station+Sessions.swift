import Foundation

extension Station {
    /// Puts the car at the end of the pile's queue; it starts charging when the pile was idle.
    mutating func enqueue(_ requestID: Int64, atPile index: Int) -> [StationEffect] {
        piles[index].queue.append(requestID)
        return startChargingIfIdle(pileAt: index)
    }

    /// The car in slot 1 of a working pile starts charging now (rule 4).
    /// Under a station power limit the car waits for its share instead (`rebalancePower` starts it).
    mutating func startChargingIfIdle(pileAt index: Int, allocatedWatts: Int64? = nil) -> [StationEffect] {
        guard settings.powerLimitWatts == nil || allocatedWatts != nil else { return [] }
        guard piles[index].status.isWorking, piles[index].session == nil,
              let head = piles[index].queue.first, let requestIndex = requestIndex(id: head)
        else { return [] }
        let target = requests[requestIndex].remaining
        piles[index].session = ChargingSession(
            requestID: head, target: target, powerWatts: piles[index].powerWatts, startingAt: now, allocatedWatts: allocatedWatts)
        if requests[requestIndex].firstChargedAt == nil { requests[requestIndex].firstChargedAt = now }
        let request = requests[requestIndex]
        return [.startCharging(
            pileID: piles[index].id, requestID: head, driver: request.driver,
            queueNumber: request.queueNumber, requestedKWh: target.kWh())]
    }

    /// Stops the charging car now and bills what it received in this session; the car leaves the pile's
    /// queue but stays active (the caller finishes or re-queues it). `until`: the car stopped receiving energy
    /// earlier than now (its pile went offline then); the bill ends there, but not before the session's last
    /// meter reading.
    mutating func endSession(pileAt index: Int, reason: StopReason, until: Instant? = nil) -> [StationEffect] {
        guard let session = piles[index].session, let requestIndex = requestIndex(id: session.requestID) else { return [] }
        let power = piles[index].modelledPowerWatts
        // Under a limit the car counts until its charger has taken the stop (`chargingStopped`).
        if settings.powerLimitWatts != nil { piles[index].power.stoppingWatts = drawBound(ofPileAt: index) }
        let end = max(session.checkpointTime, min(until ?? now, now))
        let energy = session.energy(at: end, powerWatts: power)
        let chargingFee = session.chargingFee(at: end, powerWatts: power, tariff: settings.tariff)
        let serviceFee = ExactFee(energy: energy, price: serviceFeePrice)
        requests[requestIndex].delivered += energy
        requests[requestIndex].chargingFee += chargingFee
        requests[requestIndex].serviceFee += serviceFee
        let request = requests[requestIndex]
        let bill = Bill(
            id: nextBillID, requestID: request.id, driver: request.driver, pileID: piles[index].id,
            queueNumber: request.queueNumber, energy: energy, durationMs: end - session.startedAt,
            startedAt: session.startedAt, finishedAt: end,
            chargingFee: chargingFee.roundedYuan, serviceFee: serviceFee.roundedYuan,
            totalFee: chargingFee.roundedYuan + serviceFee.roundedYuan, endedBy: reason)
        nextBillID += 1
        piles[index].totals.add(bill)
        piles[index].session = nil
        piles[index].queue.removeFirst()
        let stop = StationEffect.stopCharging(pileID: piles[index].id, requestID: request.id, reason: reason)
        let confirmation = settings.powerLimitWatts != nil ? [StationEffect.stopToBeConfirmed(pileID: piles[index].id)] : []
        return [stop] + confirmation + [.billed(bill)]
    }

    /// The request leaves the station.
    mutating func finishRequest(_ id: Int64, reason: StopReason) -> [StationEffect] {
        guard let index = requestIndex(id: id) else { return [] }
        let request = requests.remove(at: index)
        return [.requestFinished(requestID: id, driver: request.driver, reason: reason)]
    }

    /// The charging car has received its request: bill it, and the next car of that pile starts at once.
    mutating func complete(pileAt index: Int) -> [StationEffect] {
        guard let requestID = piles[index].session?.requestID else { return [] }
        return endSession(pileAt: index, reason: .completed)
            + finishRequest(requestID, reason: .completed)
            + startChargingIfIdle(pileAt: index)
    }
}
