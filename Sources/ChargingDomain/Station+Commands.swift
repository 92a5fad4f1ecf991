import Foundation

extension Station {
    /// Mutates freely and may throw half-way: `apply` runs it on a copy and keeps the copy only on success.
    mutating func handle(_ command: StationCommand) throws(StationError) -> [StationEffect] {
        switch command {
        case let .submit(driver, mode, requestedKWh, batteryCapacityKWh):
            return try submit(driver: driver, mode: mode, requestedKWh: requestedKWh, batteryCapacityKWh: batteryCapacityKWh)
        case let .modify(driver, mode, requestedKWh):
            return try modify(driver: driver, mode: mode, requestedKWh: requestedKWh)
        case let .cancel(driver):
            return try cancel(driver: driver)
        case let .setPileStatus(pileID, status):
            guard let index = pileIndex(id: pileID) else { throw .unknownPile }
            return setStatus(ofPileAt: index, to: status)
        case let .pileOffline(pileID, since):
            guard let index = pileIndex(id: pileID) else { throw .unknownPile }
            return setStatus(ofPileAt: index, to: .offline, billingUntil: since)
        case let .meter(pileID, requestID, energyKWh, readAt):
            return try recordMeter(pileID: pileID, requestID: requestID, energyKWh: energyKWh, readAt: readAt)
        case let .plugIn(driver, pileID, requestedKWh, batteryCapacityKWh):
            return try plugIn(driver: driver, pileID: pileID, requestedKWh: requestedKWh, batteryCapacityKWh: batteryCapacityKWh)
        case let .setPowerLimit(watts):
            var changed = settings
            changed.powerLimitWatts = watts
            try changed.validate()
            settings = changed
            // Setting the limit again gives the chargers that refused (or could not be reached) another chance;
            // they count at full power until they acknowledge. A charger with no car is sent its limit again.
            for index in piles.indices {
                piles[index].power.refusesLimits = false
                if piles[index].session == nil { piles[index].power.pendingWatts = nil }
            }
            return []
        case let .setMinimumPower(pileID, watts):
            guard let index = pileIndex(id: pileID) else { throw .unknownPile }
            var changed = settings
            changed.piles = changed.piles.map { $0.id == pileID ? PileSpec(id: $0.id, mode: $0.mode, powerWatts: $0.powerWatts, minimumPowerWatts: watts) : $0 }
            try changed.validate()
            settings = changed
            piles[index].spec.minimumPowerWatts = watts
            return []
        case let .powerLimitAcknowledged(pileID, watts, sequence):
            guard let index = pileIndex(id: pileID) else { throw .unknownPile }
            // Without a limit every charger is released already; a late answer changes nothing.
            if settings.powerLimitWatts != nil { piles[index].power.acknowledged(watts, sequence: sequence) }
            return []
        case let .chargingStopped(pileID):
            guard let index = pileIndex(id: pileID) else { throw .unknownPile }
            piles[index].power.stoppingWatts = nil
            return []
        case let .powerLimitRefused(pileID):
            guard let index = pileIndex(id: pileID) else { throw .unknownPile }
            if settings.powerLimitWatts != nil { chargerRefusedLimits(pileAt: index) }
            return []
        case let .setReservationMinutes(minutes):
            var changed = settings
            changed.reservationMinutes = minutes
            try changed.validateSiteRules()  // a new station without piles may set it too
            settings = changed
            return []
        case let .reserve(reservation):
            guard pileIndex(id: reservation.pileID) != nil else { throw .unknownPile }
            guard reservation.from < reservation.until, reservation.until > now else { throw .invalidReservation }
            reservations.append(reservation)
            reservations.sort { $0.id < $1.id }
            return []
        case let .cancelReservation(id):
            guard reservations.contains(where: { $0.id == id }) else { throw .unknownReservation }
            reservations.removeAll { $0.id == id }
            return dispatch()
        case let .chargerRestarted(pileID):
            guard let index = pileIndex(id: pileID) else { throw .unknownPile }
            return settings.powerLimitWatts != nil ? chargerForgotLimits(pileAt: index) : []
        }
    }

    /// A car at an idle working pile starts there at once. Dispatch has already placed every waiting car
    /// of that mode it could, so an idle working pile means nobody of that mode is waiting for it.
    private mutating func plugIn(
        driver: String, pileID: Int, requestedKWh: Decimal, batteryCapacityKWh: Decimal
    ) throws(StationError) -> [StationEffect] {
        guard let index = pileIndex(id: pileID) else { throw .unknownPile }
        guard activeRequestIndex(driver: driver) == nil else { throw .alreadyHasActiveRequest }
        guard piles[index].status.isWorking, piles[index].queue.isEmpty, piles[index].session == nil else { throw .pileBusy }
        guard let battery = Energy(kWh: batteryCapacityKWh), let requested = Energy(kWh: requestedKWh),
              requested > .zero, requested <= battery
        else { throw .invalidAmount }
        guard !isReserved(pileAt: index, againstDriver: driver, adding: requested) else { throw .pileBusy }
        let id = nextRequestID
        nextRequestID += 1
        let request = ChargingRequest(
            id: id, driver: driver, mode: piles[index].mode, number: numbering.take(piles[index].mode),
            requested: requested, batteryCapacity: battery, submittedAt: now)
        requests.append(request)
        var effects = [StationEffect.accepted(requestID: id, queueNumber: request.queueNumber)] + enqueue(id, atPile: index)
        if piles[index].session == nil {
            // Under a power limit too: the charger started this car itself. It counts at the limit its charger
            // acknowledged, else at full power, and is paused if that does not fit (`rebalancePower`).
            effects += startChargingIfIdle(pileAt: index, allocatedWatts: piles[index].power.acknowledgedWatts ?? piles[index].powerWatts)
        }
        return effects + dispatch()
    }

    /// Rules 1–2: the car enters the waiting area and dispatch runs; if it is still waiting and the area
    /// now holds more than N cars it is refused, and (the step being discarded) its number is not used.
    private mutating func submit(
        driver: String, mode: ChargingMode, requestedKWh: Decimal, batteryCapacityKWh: Decimal
    ) throws(StationError) -> [StationEffect] {
        guard activeRequestIndex(driver: driver) == nil else { throw .alreadyHasActiveRequest }
        guard let battery = Energy(kWh: batteryCapacityKWh), let requested = Energy(kWh: requestedKWh),
              requested > .zero, requested <= battery
        else { throw .invalidAmount }
        let id = nextRequestID
        nextRequestID += 1
        let request = ChargingRequest(
            id: id, driver: driver, mode: mode, number: numbering.take(mode),
            requested: requested, batteryCapacity: battery, submittedAt: now)
        requests.append(request)
        waiting.append(id)
        let effects = [StationEffect.accepted(requestID: id, queueNumber: request.queueNumber)] + dispatch()
        if waiting.contains(id), waiting.count > settings.waitingCapacity { throw .waitingAreaFull }
        return effects
    }

    /// Rule 6: only in the waiting area. A new amount keeps the number; a new mode takes the next number of
    /// that mode and moves the car to the end of the waiting area.
    private mutating func modify(
        driver: String, mode: ChargingMode?, requestedKWh: Decimal?
    ) throws(StationError) -> [StationEffect] {
        guard let index = activeRequestIndex(driver: driver) else { throw .noActiveRequest }
        let id = requests[index].id
        guard location(of: id) == .waiting else { throw .notInWaitingArea }
        guard mode != nil || requestedKWh != nil else { throw .nothingToModify }
        var effects: [StationEffect] = []
        if let requestedKWh {
            guard let requested = Energy(kWh: requestedKWh), requested > .zero,
                  requested <= requests[index].batteryCapacity
            else { throw .invalidAmount }
            requests[index].requested = requested
        }
        if let mode, mode != requests[index].mode {
            requests[index].mode = mode
            requests[index].number = numbering.take(mode)
            waiting.removeAll { $0 == id }
            waiting.append(id)
            effects.append(.renumbered(requestID: id, queueNumber: requests[index].queueNumber))
        }
        return effects + dispatch()
    }

    /// Rule 5: in any state; a charging car is billed for what it received and the next car starts.
    private mutating func cancel(driver: String) throws(StationError) -> [StationEffect] {
        guard let index = activeRequestIndex(driver: driver) else { throw .noActiveRequest }
        let id = requests[index].id
        var effects: [StationEffect] = []
        switch location(of: id) {
        case .waiting:
            waiting.removeAll { $0 == id }
        case .displaced:
            displaced.removeAll { $0 == id }
        case let .atPile(pileIndex, position):
            if position == 0, piles[pileIndex].session?.requestID == id {
                effects += endSession(pileAt: pileIndex, reason: .cancelled)
                effects += startChargingIfIdle(pileAt: pileIndex)
            } else {
                piles[pileIndex].queue.remove(at: position)
            }
        case nil:
            break
        }
        return effects + finishRequest(id, reason: .cancelled) + dispatch()
    }

    /// A pile's reading of the energy its current car received this session. It replaces the model; a
    /// reading below the previous one or above what the pile's power allows since the session started is refused;
    /// one above the session's target completes the session.
    private mutating func recordMeter(
        pileID: Int, requestID: Int64, energyKWh: Decimal, readAt: Instant?
    ) throws(StationError) -> [StationEffect] {
        guard let index = pileIndex(id: pileID) else { throw .unknownPile }
        guard var session = piles[index].session, session.requestID == requestID else { throw .unknownRequest }
        guard let reading = Energy(kWh: energyKWh), reading >= session.checkpointEnergy else { throw .invalidMeterReading }
        let time = min(now, max(readAt ?? now, session.checkpointTime))
        guard MeterPlausibility.allows(reading, powerWatts: piles[index].powerWatts, during: time - session.startedAt)
        else { throw .implausibleMeterReading }
        session.record(
            meterReading: min(reading, session.target), at: time,
            powerWatts: piles[index].modelledPowerWatts, tariff: settings.tariff)
        piles[index].session = session
        var effects: [StationEffect] = []
        if session.completesAt <= now {
            effects += complete(pileAt: index)
        }
        return effects + dispatch()
    }
}
