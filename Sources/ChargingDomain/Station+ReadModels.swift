import Foundation

extension Station {
    /// The cars at a pile, the charging one first; nil for an unknown pile.
    public func pileQueue(_ pileID: Int) -> [QueueEntry]? {
        guard let index = pileIndex(id: pileID) else { return nil }
        let pile = piles[index]
        return pile.queue.enumerated().map { position, id in
            let request = request(id)
            var entry = QueueEntry(
                requestID: id, driver: request.driver, queueNumber: request.queueNumber,
                batteryCapacityKWh: request.batteryCapacity.kWh(),
                requestedKWh: request.requested.kWh(),
                remainingKWh: request.remaining.kWh(),
                waitingSeconds: request.waitingMilliseconds(at: now) / Milliseconds.perSecond,
                state: .queued)
            if position == 0, let session = pile.session {
                let energy = session.energy(at: now, powerWatts: pile.modelledPowerWatts)
                let chargingFee = session.chargingFee(at: now, powerWatts: pile.modelledPowerWatts, tariff: settings.tariff).roundedYuan
                let serviceFee = ExactFee(energy: energy, price: serviceFeePrice).roundedYuan
                entry.state = .charging
                entry.chargedKWh = energy.kWh(decimals: 2)
                entry.chargingFee = chargingFee
                entry.serviceFee = serviceFee
                entry.fee = chargingFee + serviceFee
            }
            return entry
        }
    }

    /// Displaced cars first, then the waiting area in arrival order.
    public func waitingArea() -> [WaitingEntry] {
        displaced.map { waitingEntry($0, state: .displaced) } + waiting.map { waitingEntry($0, state: .waiting) }
    }

    /// The driver's active request; nil when there is none.
    public func request(of driver: String) -> RequestView? {
        guard let index = activeRequestIndex(driver: driver) else { return nil }
        let request = requests[index]
        var charged = request.delivered
        var chargingFee = request.chargingFee
        var serviceFee = request.serviceFee
        var state = RequestView.State.waiting
        var pileID: Int?
        var carsAhead = 0
        switch location(of: request.id) {
        case .waiting:
            carsAhead = displacedIDs(request.mode).count
                + waiting.filter { self.request($0).mode == request.mode && self.request($0).number < request.number }.count
        case .displaced:
            carsAhead = displacedIDs(request.mode).firstIndex(of: request.id) ?? 0
        case let .atPile(index, position):
            let pile = piles[index]
            pileID = pile.id
            carsAhead = position
            state = .queued
            if position == 0, let session = pile.session {
                state = .charging
                let energy = session.energy(at: now, powerWatts: pile.modelledPowerWatts)
                charged += energy
                chargingFee += session.chargingFee(at: now, powerWatts: pile.modelledPowerWatts, tariff: settings.tariff)
                serviceFee += ExactFee(energy: energy, price: serviceFeePrice)
            }
        case nil:
            break
        }
        return RequestView(
            requestID: request.id, driver: request.driver, queueNumber: request.queueNumber, mode: request.mode,
            requestedKWh: request.requested.kWh(), remainingKWh: request.remaining.kWh(),
            state: state, isDisplaced: displaced.contains(request.id), pileID: pileID, carsAhead: carsAhead,
            waitingSeconds: request.waitingMilliseconds(at: now) / Milliseconds.perSecond,
            chargedKWh: charged.kWh(decimals: 2), chargingFee: chargingFee.roundedYuan, serviceFee: serviceFee.roundedYuan)
    }

    public func pileStatus(_ pileID: Int) -> PileStatus? {
        pileIndex(id: pileID).map { piles[$0].status }
    }

    /// The car charging at the pile now: its request and its driver.
    public func charging(atPile pileID: Int) -> (requestID: Int64, driver: String)? {
        guard let index = pileIndex(id: pileID), let session = piles[index].session,
              let request = requests.first(where: { $0.id == session.requestID })
        else { return nil }
        return (request.id, request.driver)
    }

    /// The piles whose status is not what it was in `original` (every pile without one), in id order.
    public func pileStatusChanges(since original: Station?) -> [(pileID: Int, status: PileStatus)] {
        guard let original, original.piles.map(\.id) == piles.map(\.id) else { return piles.map { ($0.id, $0.status) } }
        return zip(original.piles, piles).compactMap { before, now in before.status == now.status ? nil : (now.id, now.status) }
    }

    /// Rule 10 totals of every session this pile billed.
    public func pileTotals(_ pileID: Int) -> PileTotals? {
        pileIndex(id: pileID).map { piles[$0].totals }
    }

    /// Every active request in request-id order.
    public var activeRequests: [ActiveRequest] {
        let places = requestPlaces
        return requests.map { activeRequest($0, at: places[$0.id]!) }
    }

    /// The active requests of `ids` (others are skipped), with their places.
    public func activeRequests(_ ids: Set<Int64>, places: [Int64: ActiveRequest.Place]) -> [ActiveRequest] {
        requests.filter { ids.contains($0.id) }.map { activeRequest($0, at: places[$0.id]!) }
    }

    /// Where every active request is, by id: one pass over the waiting area, the displaced cars and the
    /// piles' queues (a station of a thousand cars is not searched a thousand times).
    public var requestPlaces: [Int64: ActiveRequest.Place] {
        var places: [Int64: ActiveRequest.Place] = [:]
        places.reserveCapacity(requests.count)
        for request in requests { places[request.id] = .init(state: .waiting) }
        for pile in piles {
            for (position, id) in pile.queue.enumerated() where places[id] != nil {
                places[id] = .init(state: position == 0 && pile.session != nil ? .charging : .queued, pileID: pile.id,
                                   queuePosition: position + 1)
            }
        }
        // As `location(of:)` decides: the waiting area and the displaced cars before any pile.
        for id in displaced where places[id] != nil { places[id] = .init(state: .displaced) }
        for id in waiting where places[id] != nil { places[id] = .init(state: .waiting) }
        return places
    }

    private func activeRequest(_ request: ChargingRequest, at place: ActiveRequest.Place) -> ActiveRequest {
        ActiveRequest(
            requestID: request.id, driver: request.driver, mode: request.mode, queueNumber: request.queueNumber,
            requestedKWh: request.requested.kWh(), remainingKWh: request.remaining.kWh(),
            batteryCapacityKWh: request.batteryCapacity.kWh(), state: place.state, pileID: place.pileID,
            queuePosition: place.queuePosition, submittedAt: request.submittedAt, firstChargedAt: request.firstChargedAt)
    }

    /// Pile ids in order.
    public var pileIDs: [Int] { piles.map(\.id) }

    private func waitingEntry(_ id: Int64, state: WaitingEntry.State) -> WaitingEntry {
        let request = request(id)
        return WaitingEntry(
            requestID: id, driver: request.driver, queueNumber: request.queueNumber, mode: request.mode,
            requestedKWh: request.requested.kWh(), remainingKWh: request.remaining.kWh(),
            waitingSeconds: request.waitingMilliseconds(at: now) / Milliseconds.perSecond, state: state)
    }
}
