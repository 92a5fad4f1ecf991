import Foundation

/// Site load management: the station's power limit shared among the cars at the head of its working piles.
///
/// After every step (`apply`, and each completion in `advance`) the engine decides again:
/// 1. **Who charges.** The cars charging already, then the cars waiting at the head of a working pile, each in
///    arrival order (request id), are admitted while the limit covers every admitted car's minimum (its pile's minimum
///    power; its full power when its charger refuses limits). A charging car that no longer fits is paused:
///    billed for what it received, it waits at the head of its pile's queue.
/// 2. **How much.** What the chargers that refuse limits leave of the limit is shared equally among the others,
///    each between its minimum and its pile's power; what a pile cannot take goes to the others (water-filling).
/// 3. **Safely.** A charger may draw the higher of the limit it acknowledged and one sent but not yet answered,
///    and its full power before it has acknowledged any or when it refuses them. Reductions are sent at once;
///    an increase (a higher limit, or a car starting) only while the sum of what every charger may draw stays
///    within the limit, so it waits for the reductions that make room for it to be acknowledged. A car waiting
///    for power starts only once its charger acknowledged a limit no higher than its share.
///
/// The model follows the limit sent: a car's energy, completion and fees are modelled at its charger's instructed
/// limit from the instant it was sent. Without a limit nothing of this runs, and every car charges at its pile's power.
extension Station {
    /// What the cars at the station's piles may draw together at most, as far as the station can be sure.
    public var powerDrawBoundWatts: Int64 { piles.indices.reduce(0) { $0 + drawBound(ofPileAt: $1) } }

    /// The power each charging car is modelled at now, by pile id (cars charging only).
    public var allocatedPowerWatts: [Int: Int64] {
        Dictionary(uniqueKeysWithValues: piles.compactMap { pile in pile.session.map { _ in (pile.id, pile.modelledPowerWatts) } })
    }

    /// The most the pile's car may be drawing now: nothing without a car; its full power while its charger refuses
    /// limits or has acknowledged none; else the higher of the acknowledged limit and one sent but not yet answered.
    /// A car stopped here counts until its charger has taken the stop.
    func drawBound(ofPileAt index: Int) -> Int64 {
        let pile = piles[index]
        let stopping = pile.power.stoppingWatts ?? 0
        guard pile.session != nil else { return stopping }
        guard !pile.power.refusesLimits, let acknowledged = pile.power.acknowledgedWatts else { return pile.powerWatts + stopping }
        return max(acknowledged, pile.power.pendingCeilingWatts ?? 0) + stopping
    }

    mutating func rebalancePower() -> [StationEffect] {
        guard let limit = settings.powerLimitWatts else { return liftPowerLimits() }
        let effects = rebalancePower(within: limit)
        // A car that just started at a limit its charger acknowledged earlier may get more at once.
        guard effects.contains(where: { if case .startCharging = $0 { true } else { false } }) else { return effects }
        return effects + rebalancePower(within: limit)
    }

    private mutating func rebalancePower(within limit: Int64) -> [StationEffect] {
        var effects: [StationEffect] = []
        let heads = piles.indices.filter { piles[$0].status.isWorking && !piles[$0].queue.isEmpty }
        let charging = heads.filter { piles[$0].session != nil }.sorted { piles[$0].queue[0] < piles[$1].queue[0] }
        let waitingForPower = heads.filter { piles[$0].session == nil }.sorted { piles[$0].queue[0] < piles[$1].queue[0] }

        var admitted: [Int] = []
        var reserved: Int64 = 0
        for index in charging + waitingForPower {
            let need = piles[index].power.refusesLimits ? piles[index].powerWatts : piles[index].spec.effectiveMinimumPowerWatts
            if reserved + need <= limit {
                admitted.append(index)
                reserved += need
            } else if piles[index].session != nil {
                effects += pause(pileAt: index)
            }
        }
        let shares = powerShares(of: admitted, limit: limit)

        for index in admitted where piles[index].session != nil && !piles[index].power.refusesLimits {
            let instructed = piles[index].power.instructedWatts ?? piles[index].powerWatts
            if shares[index]! < instructed { effects += sendPowerLimit(shares[index]!, toPileAt: index) }
        }
        var bound = powerDrawBoundWatts
        for index in admitted {
            let share = shares[index]!
            let power = piles[index].power
            if piles[index].session != nil {
                guard !power.refusesLimits, share > (power.instructedWatts ?? piles[index].powerWatts) else { continue }
                let increase = max(power.acknowledgedWatts ?? piles[index].powerWatts, power.pendingCeilingWatts ?? 0, share)
                    + (power.stoppingWatts ?? 0) - drawBound(ofPileAt: index)
                if bound + increase <= limit {
                    effects += sendPowerLimit(share, toPileAt: index)
                    bound += increase
                }
            } else if power.refusesLimits {
                if bound + piles[index].powerWatts <= limit {
                    effects += startChargingIfIdle(pileAt: index, allocatedWatts: piles[index].powerWatts)
                    bound += piles[index].powerWatts
                }
            } else if let acknowledged = power.acknowledgedWatts, max(acknowledged, power.pendingCeilingWatts ?? 0) <= share {
                let draw = max(acknowledged, power.pendingCeilingWatts ?? 0)
                if bound + draw <= limit {
                    effects += startChargingIfIdle(pileAt: index, allocatedWatts: power.instructedWatts ?? acknowledged)
                    bound += draw
                }
            } else if power.pendingWatts != share {
                // No car draws at this pile yet: its limit is set before it starts, whatever the others do.
                effects += sendPowerLimit(share, toPileAt: index)
            }
        }
        return effects
    }

    /// Each admitted car's share of what the chargers that refuse limits leave: the same for all, each held
    /// between its minimum and its pile's power, the level as high as the limit allows (whole watts).
    func powerShares(of indices: [Int], limit: Int64) -> [Int: Int64] {
        var shares: [Int: Int64] = [:]
        var available = limit
        var controlled: [Int] = []
        for index in indices {
            if piles[index].power.refusesLimits {
                shares[index] = piles[index].powerWatts
                available -= piles[index].powerWatts
            } else {
                controlled.append(index)
            }
        }
        func clamped(_ level: Int64, _ index: Int) -> Int64 {
            min(max(level, piles[index].spec.effectiveMinimumPowerWatts), piles[index].powerWatts)
        }
        func total(_ level: Int64) -> Int64 { controlled.reduce(0) { $0 + clamped(level, $1) } }
        var low: Int64 = 0
        var high = controlled.map { piles[$0].powerWatts }.max() ?? 0
        while low < high {
            let middle = (low + high + 1) / 2
            if total(middle) <= available { low = middle } else { high = middle - 1 }
        }
        for index in controlled { shares[index] = clamped(low, index) }
        return shares
    }

    /// The charger refuses limits: it counts, and its car is modelled, at its full power.
    mutating func chargerRefusedLimits(pileAt index: Int) {
        piles[index].power.refused()
        modelPower(ofPileAt: index, at: nil)
    }

    /// The charger may hold no limit any more (it rebooted): it counts at its full power until it acknowledges the
    /// limit it is sent again, the one it was held to for its car (or was about to be); `rebalancePower` follows.
    mutating func chargerForgotLimits(pileAt index: Int) -> [StationEffect] {
        let power = piles[index].power
        piles[index].power.forgotten()
        if let held = power.instructedWatts, piles[index].session != nil || power.pendingWatts != nil {
            return sendPowerLimit(held, toPileAt: index)
        }
        modelPower(ofPileAt: index, at: nil)
        return []
    }

    /// The charger is told its new limit; a charging car is modelled at it from now.
    private mutating func sendPowerLimit(_ watts: Int64, toPileAt index: Int) -> [StationEffect] {
        let sequence = piles[index].power.sent(watts)
        modelPower(ofPileAt: index, at: watts)
        return [.limitPower(pileID: piles[index].id, watts: watts, sequence: sequence)]
    }

    private mutating func modelPower(ofPileAt index: Int, at watts: Int64?) {
        guard var session = piles[index].session else { return }
        session.changePower(
            from: piles[index].modelledPowerWatts, to: watts, pilePowerWatts: piles[index].powerWatts, at: now, tariff: settings.tariff)
        piles[index].session = session
    }

    /// The limit no longer leaves this car its minimum: billed for what it received, it waits at the head of
    /// its pile's queue for power.
    private mutating func pause(pileAt index: Int) -> [StationEffect] {
        guard let requestID = piles[index].session?.requestID else { return [] }
        let effects = endSession(pileAt: index, reason: .paused)
        piles[index].queue.insert(requestID, at: 0)
        return effects
    }

    /// Without a limit every car charges at its pile's power: chargers still held to a limit are released, and
    /// cars that waited for power start.
    private mutating func liftPowerLimits() -> [StationEffect] {
        var effects: [StationEffect] = []
        for index in piles.indices {
            if !piles[index].power.isReleased {
                let wasHeld = piles[index].power.instructedWatts != nil
                piles[index].power.release()
                if wasHeld {
                    piles[index].power.sequence += 1
                    effects.append(.limitPower(pileID: piles[index].id, watts: piles[index].powerWatts, sequence: piles[index].power.sequence))
                }
            }
            if piles[index].session?.powerWatts != nil { modelPower(ofPileAt: index, at: nil) }
            if piles[index].session == nil, piles[index].status.isWorking, !piles[index].queue.isEmpty {
                effects += startChargingIfIdle(pileAt: index)
            }
        }
        return effects
    }
}

/// A station's power limit and its shares, as an admin sees them.
public struct StationPower: Sendable, Equatable {
    public struct Pile: Sendable, Equatable {
        public var pileID: Int
        public var powerWatts: Int64
        public var minimumPowerWatts: Int64
        /// The power the charging car is modelled at; nil without a car charging.
        public var allocatedWatts: Int64?
        /// The charging car's request and when its session started.
        public var session: (requestID: Int64, startedAt: Instant)?
        /// The car's average power by its charger's meter since the session started (the shell fills it in).
        public var measuredWatts: Int64?

        public static func == (lhs: Pile, rhs: Pile) -> Bool {
            lhs.pileID == rhs.pileID && lhs.powerWatts == rhs.powerWatts && lhs.minimumPowerWatts == rhs.minimumPowerWatts
                && lhs.allocatedWatts == rhs.allocatedWatts && lhs.session?.requestID == rhs.session?.requestID
                && lhs.session?.startedAt == rhs.session?.startedAt && lhs.measuredWatts == rhs.measuredWatts
        }
    }

    public var stationID: Int
    public var limitWatts: Int64?
    public var piles: [Pile]
    /// The station's reservation time (`StationSettings.reservationMinutes`), shown beside its power.
    public var reservationMinutes: Int = StationSettings.defaultReservationMinutes
}

extension StationPower {
    /// Each charging car's average power by its meter's last reading (the session's energy so far, read at a
    /// station time): energy ÷ time since the session started. A reading from before the session is not its.
    public mutating func measure(_ readings: [Int64: (energyKWh: Decimal, readAtMs: Int64)]) {
        for index in piles.indices {
            guard let session = piles[index].session, let reading = readings[session.requestID],
                  reading.readAtMs > session.startedAt, let energy = Energy(kWh: reading.energyKWh)
            else { continue }
            piles[index].measuredWatts = energy.wattMilliseconds / (reading.readAtMs - session.startedAt)
        }
    }
}

extension Station {
    public func power(stationID: Int) -> StationPower {
        StationPower(stationID: stationID, limitWatts: settings.powerLimitWatts, piles: piles.map { pile in
            StationPower.Pile(
                pileID: pile.id, powerWatts: pile.powerWatts, minimumPowerWatts: pile.spec.effectiveMinimumPowerWatts,
                allocatedWatts: pile.session.map { _ in pile.modelledPowerWatts },
                session: pile.session.map { ($0.requestID, $0.startedAt) })
        }, reservationMinutes: settings.reservationMinutes)
    }
}
