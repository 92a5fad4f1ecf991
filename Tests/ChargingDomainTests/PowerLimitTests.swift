import ChargingDomain
import Foundation
import Testing

@Suite("Site load management: the station's power limit")
struct PowerLimitTests {
    let clock = StationClock()

    /// `slow` piles of 10 kW and `fast` of 30 kW, all on, behind `limitKW`.
    func station(fast: Int = 0, slow: Int = 0, limitKW: Int64, queueLength: Int = 3) -> Station {
        var settings = settings(fast: fast, slow: slow, queueLength: queueLength)
        settings.powerLimitWatts = limitKW * 1_000
        return Station.running(settings, at: clock.at("06:00"))
    }

    @Test("without a limit nothing changes: no power instructions, every car at its pile's power, rows as before")
    func noLimit() throws {
        var station = Station.running(settings(fast: 1, slow: 2), at: clock.at("06:00"))
        var effects: [StationEffect] = []
        effects += station.must(.submit(driver: "a", mode: .fast, requestedKWh: 30, batteryCapacityKWh: 100), at: clock.at("06:00"))
        effects += station.must(.submit(driver: "b", mode: .slow, requestedKWh: 10, batteryCapacityKWh: 100), at: clock.at("06:00"))
        effects += station.advance(to: clock.at("09:00"))
        #expect(!effects.contains { if case .limitPower = $0 { true } else { false } })
        #expect(!effects.contains { if case .stopToBeConfirmed = $0 { true } else { false } })
        #expect(effects.bills.map(\.finishedAt) == [clock.at("07:00"), clock.at("07:00")])
        let rows = try StationSnapshot.rows(of: station, since: nil)
        for pile in rows.piles { #expect(!String(decoding: pile.state, as: UTF8.self).contains("power\"")) }
        #expect(!String(decoding: rows.header!, as: UTF8.self).contains("power_limit"))
    }

    @Test("a car waits for its charger to acknowledge its limit, then charges at it; energy and completion follow")
    func startsAfterAcknowledgement() {
        var station = station(slow: 2, limitKW: 5)
        let effects = station.must(.submit(driver: "a", mode: .slow, requestedKWh: 10, batteryCapacityKWh: 100), at: clock.at("06:00"))
        #expect(effects.limitedPowers == [1: 5_000])
        #expect(effects.startedDrivers.isEmpty)
        #expect(station.request(of: "a")!.state == .queued)
        let started = station.acknowledge(pile: 1, watts: 5_000, at: clock.at("06:00"))
        #expect(started.startedDrivers == ["a"])
        #expect(station.allocatedPowerWatts == [1: 5_000])
        // 10 kWh at 5 kW: two hours, not one.
        #expect(station.nextEventTime == clock.at("08:00"))
        let bills = station.advance(to: clock.at("09:00")).bills
        #expect(bills.map(\.energyKWh) == [10] && bills.map(\.finishedAt) == [clock.at("08:00")])
    }

    @Test("equal shares, capped at each pile's power, the leftover redistributed")
    func equalSharesWithLeftover() {
        var station = station(fast: 2, slow: 1, limitKW: 40)
        station.submit("a", .fast, "60", at: clock.at("06:00"))
        station.submit("b", .fast, "60", at: clock.at("06:00"))
        station.submit("c", .slow, "60", at: clock.at("06:00"))
        station.settlePower(at: clock.at("06:00"))
        // The slow pile takes its 10 kW; the fast ones share the other 30.
        #expect(station.allocatedPowerWatts == [1: 15_000, 2: 15_000, 3: 10_000])
        #expect(station.powerDrawBoundWatts <= 40_000)
    }

    @Test("a car that cannot get its pile's minimum waits, visibly, and starts when power frees up")
    func minimumAndQueueing() {
        var station = station(slow: 3, limitKW: 9)
        station.submit("a", .slow, "2", at: clock.at("06:00"))
        station.submit("b", .slow, "20", at: clock.at("06:00"))
        station.submit("c", .slow, "20", at: clock.at("06:00"))
        station.settlePower(at: clock.at("06:00"))
        // 2 × 4.14 kW fit in 9 kW, a third minimum does not.
        #expect(station.allocatedPowerWatts == [1: 4_500, 2: 4_500])
        #expect(station.request(of: "c")!.state == .queued && station.request(of: "c")!.pileID == 3)
        // a's 2 kWh at 4.5 kW take 26:40; then c gets a share.
        _ = station.advance(to: clock.at("06:27"))
        station.settlePower(at: clock.at("06:27"))
        #expect(station.request(of: "c")!.state == .charging)
        #expect(station.allocatedPowerWatts == [2: 4_500, 3: 4_500])
    }

    @Test("a per-pile minimum is configurable")
    func perPileMinimum() {
        var station = station(slow: 2, limitKW: 13)
        station.must(.setMinimumPower(pileID: 2, watts: 8_000), at: clock.at("06:00"))
        station.submit("a", .slow, "20", at: clock.at("06:00"))
        station.submit("b", .slow, "20", at: clock.at("06:00"))
        station.settlePower(at: clock.at("06:00"))
        // Equal shares would be 6.5 kW each; pile 2's minimum is 8 kW, so pile 1 gets the 5 kW left.
        #expect(station.allocatedPowerWatts == [1: 5_000, 2: 8_000])
    }

    @Test("reductions are acknowledged before the increases they make room for")
    func reductionsFirst() {
        var station = station(slow: 3, limitKW: 20)
        station.submit("a", .slow, "20", at: clock.at("06:00"))
        station.submit("b", .slow, "20", at: clock.at("06:00"))
        station.settlePower(at: clock.at("06:00"))
        #expect(station.allocatedPowerWatts == [1: 10_000, 2: 10_000])
        let arrival = station.must(.submit(driver: "c", mode: .slow, requestedKWh: 20, batteryCapacityKWh: 100), at: clock.at("06:10"))
        // Both reductions go out at once, and c's limit to its idle charger; c does not start yet.
        #expect(arrival.limitedPowers == [1: 6_666, 2: 6_666, 3: 6_666])
        #expect(arrival.startedDrivers.isEmpty)
        #expect(station.powerDrawBoundWatts == 20_000)
        #expect(station.acknowledge(pile: 3, watts: 6_666, at: clock.at("06:10")).startedDrivers.isEmpty)
        #expect(station.acknowledge(pile: 1, watts: 6_666, at: clock.at("06:10")).startedDrivers.isEmpty)
        #expect(station.acknowledge(pile: 2, watts: 6_666, at: clock.at("06:10")).startedDrivers == ["c"])
        #expect(station.powerDrawBoundWatts <= 20_000)
        // When c leaves, its stop is a reduction too: the room it frees is given to a and b once its charger took it.
        let leaving = station.must(.cancel(driver: "c"), at: clock.at("06:20"))
        #expect(leaving.limitedPowers.isEmpty && leaving.contains(.stopCharging(pileID: 3, requestID: 3, reason: .cancelled)))
        #expect(leaving.contains(.stopToBeConfirmed(pileID: 3)))
        #expect(station.powerDrawBoundWatts == 19_998)
        let stopped = station.must(.chargingStopped(pileID: 3), at: clock.at("06:20"))
        #expect(stopped.limitedPowers == [1: 10_000, 2: 10_000])
        #expect(station.powerDrawBoundWatts == 20_000)
    }

    @Test("a charger that rejects its limit counts at full power; the others are reduced, and a car that no longer fits waits")
    func rejectingCharger() {
        var station = station(fast: 1, slow: 2, limitKW: 40)
        station.submit("a", .fast, "60", at: clock.at("06:00"))
        station.submit("b", .slow, "20", at: clock.at("06:00"))
        station.submit("c", .slow, "20", at: clock.at("06:00"))
        station.settlePower(at: clock.at("06:00"))
        #expect(station.allocatedPowerWatts == [1: 20_000, 2: 10_000, 3: 10_000])
        station.must(.powerLimitRefused(pileID: 1), at: clock.at("06:10"))
        station.settlePower(at: clock.at("06:10"))
        // Pile 1 draws its 30 kW whatever it is told: 10 kW are left, for both slow cars at 5 kW each.
        #expect(station.allocatedPowerWatts == [1: 30_000, 2: 5_000, 3: 5_000])
        #expect(station.powerDrawBoundWatts <= 40_000)
        // A new limit asks pile 1 again (16 kW); it refuses again.
        #expect(station.must(.setPowerLimit(watts: 36_000), at: clock.at("06:20")).limitedPowers == [1: 16_000])
        station.must(.powerLimitRefused(pileID: 1), at: clock.at("06:20"))
        station.settlePower(at: clock.at("06:20"))
        // 6 kW left: one minimum only; the later car is paused, billed, and waits at its pile.
        #expect(station.allocatedPowerWatts == [1: 30_000, 2: 6_000])
        #expect(station.request(of: "c")!.state == .queued && station.request(of: "c")!.pileID == 3)
        #expect(station.powerDrawBoundWatts <= 36_000)
    }

    @Test("a charger that has not answered (offline, silent) counts at its full power: nothing is raised on its account")
    func silentCharger() {
        var station = station(slow: 2, limitKW: 15)
        station.submit("a", .slow, "20", at: clock.at("06:00"))
        station.settlePower(at: clock.at("06:00"))
        #expect(station.allocatedPowerWatts == [1: 10_000])
        // b's charger never acknowledges: b never starts, and a is still reduced to make room for it.
        let arrival = station.must(.submit(driver: "b", mode: .slow, requestedKWh: 20, batteryCapacityKWh: 100), at: clock.at("06:10"))
        #expect(arrival.limitedPowers == [1: 7_500, 2: 7_500])
        station.acknowledge(pile: 1, watts: 7_500, at: clock.at("06:10"))
        #expect(station.request(of: "b")!.state == .queued)
        #expect(station.powerDrawBoundWatts == 7_500)
        // Told it never will (the shell gives up on it): it counts at full power and starts only when that fits.
        station.must(.powerLimitRefused(pileID: 2), at: clock.at("06:11"))
        #expect(station.request(of: "b")!.state == .queued)
        #expect(station.powerDrawBoundWatts <= 15_000)
        // Meanwhile a was cut to the 5 kW a full-power b would leave. The limit set again: b's charger is sent its
        // share again (and a its share back), and this time it answers.
        #expect(station.must(.setPowerLimit(watts: 15_000), at: clock.at("06:12")).limitedPowers == [1: 7_500, 2: 7_500])
        #expect(station.acknowledge(pile: 2, watts: 7_500, at: clock.at("06:12")).startedDrivers == ["b"])
    }

    @Test("a car that plugged in at the charger itself charges at once, counted at full power until its charger acknowledges a limit")
    func plugInUnderLimit() {
        var station = station(slow: 2, limitKW: 15)
        station.submit("a", .slow, "20", at: clock.at("06:00"))
        station.settlePower(at: clock.at("06:00"))
        let effects = station.must(.plugIn(driver: "walk-up", pileID: 2, requestedKWh: 20, batteryCapacityKWh: 60), at: clock.at("06:10"))
        #expect(effects.startedDrivers == ["walk-up"])
        // 10 + 10 may be drawn for a moment: the charger started on its own. a is reduced at once, and so is the newcomer.
        #expect(effects.limitedPowers == [1: 7_500, 2: 7_500])
        station.settlePower(at: clock.at("06:10"))
        #expect(station.allocatedPowerWatts == [1: 7_500, 2: 7_500])
        #expect(station.powerDrawBoundWatts == 15_000)
    }

    @Test("setting the limit again gives a charger that refused another chance")
    func refusalRetried() {
        var station = station(slow: 2, limitKW: 15)
        station.submit("a", .slow, "20", at: clock.at("06:00"))
        station.must(.powerLimitRefused(pileID: 1), at: clock.at("06:00"))
        #expect(station.allocatedPowerWatts == [1: 10_000])
        station.must(.setPowerLimit(watts: 15_000), at: clock.at("06:05"))
        // Alone, a's share is its full power: nothing to send. When b arrives pile 1 is asked again, and obeys.
        let arrival = station.must(.submit(driver: "b", mode: .slow, requestedKWh: 20, batteryCapacityKWh: 100), at: clock.at("06:05"))
        #expect(arrival.limitedPowers == [1: 7_500, 2: 7_500])
        station.settlePower(at: clock.at("06:05"))
        #expect(station.allocatedPowerWatts == [1: 7_500, 2: 7_500])
    }

    @Test("a charger that reboots counts at full power again and is sent its share anew; one that refused gets another chance")
    func restartedCharger() {
        var station = station(slow: 3, limitKW: 20)
        station.submit("a", .slow, "20", at: clock.at("06:00"))
        station.submit("b", .slow, "20", at: clock.at("06:00"))
        station.settlePower(at: clock.at("06:00"))
        #expect(station.allocatedPowerWatts == [1: 10_000, 2: 10_000])
        station.submit("c", .slow, "20", at: clock.at("06:05"))
        station.settlePower(at: clock.at("06:05"))
        #expect(station.allocatedPowerWatts == [1: 6_666, 2: 6_666, 3: 6_666])
        // Pile 2 reboots with its car still charging: it may draw 10 kW, and is told its share again at once.
        let restarted = station.must(.chargerRestarted(pileID: 2), at: clock.at("06:10"))
        #expect(restarted.limitedPowers == [2: 6_666])
        #expect(station.powerDrawBoundWatts == 6_666 + 10_000 + 6_666)
        station.acknowledge(pile: 2, watts: 6_666, at: clock.at("06:10"))
        #expect(station.powerDrawBoundWatts <= 20_000)
        // A charger that refused is asked again after it reboots.
        station.must(.powerLimitRefused(pileID: 3), at: clock.at("06:20"))
        station.settlePower(at: clock.at("06:20"))
        #expect(station.allocatedPowerWatts == [1: 5_000, 2: 5_000, 3: 10_000])
        let again = station.must(.chargerRestarted(pileID: 3), at: clock.at("06:30"))
        #expect(again.limitedPowers == [3: 6_666])
        station.settlePower(at: clock.at("06:30"))
        #expect(station.allocatedPowerWatts == [1: 6_666, 2: 6_666, 3: 6_666])
        #expect(station.powerDrawBoundWatts <= 20_000)
        // Without a limit a reboot changes nothing.
        var unlimited = Station.running(settings(slow: 1), at: clock.at("06:00"))
        unlimited.submit("d", .slow, "20", at: clock.at("06:00"))
        #expect(unlimited.must(.chargerRestarted(pileID: 1), at: clock.at("06:10")).limitedPowers.isEmpty)
    }

    @Test("a limit lowered while cars charge: reductions first, the latest car paused, never above the acknowledged sum")
    func limitLowered() {
        var station = station(slow: 3, limitKW: 30)
        for driver in ["a", "b", "c"] { station.submit(driver, .slow, "20", at: clock.at("06:00")) }
        station.settlePower(at: clock.at("06:00"))
        #expect(station.allocatedPowerWatts == [1: 10_000, 2: 10_000, 3: 10_000])
        let lowered = station.must(.setPowerLimit(watts: 9_000), at: clock.at("06:30"))
        #expect(lowered.bills.map(\.driver) == ["c"] && lowered.bills[0].endedBy == .paused && lowered.bills[0].energyKWh == 5)
        #expect(lowered.limitedPowers == [1: 4_500, 2: 4_500])
        station.settlePower(at: clock.at("06:30"))
        #expect(station.allocatedPowerWatts == [1: 4_500, 2: 4_500])
        #expect(station.request(of: "c")!.state == .queued && station.request(of: "c")!.remainingKWh == 15)
        // Lifted: everyone back to full power at once, c starts again.
        let lifted = station.must(.setPowerLimit(watts: nil), at: clock.at("07:00"))
        #expect(lifted.startedDrivers == ["c"])
        #expect(lifted.limitedPowers == [1: 10_000, 2: 10_000, 3: 10_000])
        #expect(station.allocatedPowerWatts == [1: 10_000, 2: 10_000, 3: 10_000])
    }

    @Test("the modelled energy follows the allocation across a change of power")
    func energyAcrossChange() {
        var station = station(slow: 2, limitKW: 20)
        station.submit("a", .slow, "10", at: clock.at("06:00"))
        station.settlePower(at: clock.at("06:00"))
        station.submit("b", .slow, "10", at: clock.at("06:30"))
        station.settlePower(at: clock.at("06:30"))
        // a: 5 kWh at 10 kW by 06:30, both at 10 kW (the limit covers both), done at 07:00.
        #expect(station.allocatedPowerWatts == [1: 10_000, 2: 10_000])
        station.must(.setPowerLimit(watts: 10_000), at: clock.at("06:30"))
        station.settlePower(at: clock.at("06:30"))
        // From 06:30 5 kW each: a's last 5 kWh take an hour.
        let bills = station.advance(to: clock.at("09:00")).bills
        #expect(bills.first { $0.driver == "a" }!.finishedAt == clock.at("07:30"))
        #expect(bills.map(\.energyKWh) == [10, 10])
    }

    @Test("the power state round-trips through the stored rows, and a station without it loads as before")
    func storedRows() throws {
        var station = station(fast: 1, slow: 2, limitKW: 25)
        station.submit("a", .fast, "60", at: clock.at("06:00"))
        station.submit("b", .slow, "20", at: clock.at("06:00"))
        station.settlePower(at: clock.at("06:00"))
        station.must(.powerLimitRefused(pileID: 3), at: clock.at("06:05"))
        station.must(.setMinimumPower(pileID: 2, watts: 5_000), at: clock.at("06:05"))
        let rows = try StationSnapshot.rows(of: station, since: nil)
        func array(_ parts: [Data]) -> Data { Data(("[" + parts.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ",") + "]").utf8) }
        let assembled = try StationSnapshot.assemble(
            header: rows.header!, piles: array(rows.piles.map(\.state)), requests: array(rows.requests.map(\.state)))
        #expect(assembled == station)
    }

    @Test("random arrivals, departures, acknowledgements and refusals never let the acknowledged sum exceed the limit")
    func neverExceeded() {
        var generator = SeededGenerator(state: 17)
        for _ in 0..<40 {
            var station = station(fast: 2, slow: 4, limitKW: 45, queueLength: 2)
            var time = clock.at("06:00")
            // What each pile was sent and has not answered, oldest first: a pile answers in order.
            var pending: [Int: [(watts: Int64, sequence: Int64)]] = [:]
            var bound: Int64 = 0
            for step in 0..<120 {
                var refusal = false
                let limitBefore = station.settings.powerLimitWatts!
                time += Int64.random(in: 0...600_000, using: &generator)
                var effects: [StationEffect]
                switch Int.random(in: 0..<10, using: &generator) {
                case 0..<4:
                    let mode: ChargingMode = Bool.random(using: &generator) ? .fast : .slow
                    effects = (try? station.apply(.submit(driver: "d\(step)", mode: mode, requestedKWh: Decimal(Int.random(in: 1...40, using: &generator)),
                                                          batteryCapacityKWh: 100), at: time)) ?? []
                case 4:
                    effects = (try? station.apply(.cancel(driver: "d\(Int.random(in: 0..<max(1, step), using: &generator))"), at: time)) ?? []
                case 5 where !pending.isEmpty && Int.random(in: 0..<8, using: &generator) == 0:
                    let pile = pending.keys.sorted()[Int.random(in: 0..<pending.count, using: &generator)]
                    pending[pile] = nil
                    effects = station.must(.powerLimitRefused(pileID: pile), at: time)
                    refusal = true
                case 8:
                    let stopping = StationSnapshot(station).piles.filter { $0.power?.stoppingW != nil }.map(\.pile.id)
                    guard let pile = stopping.randomElement(using: &generator) else { effects = station.advance(to: time); break }
                    effects = station.must(.chargingStopped(pileID: pile), at: time)
                case 9:
                    effects = station.must(.setPowerLimit(watts: Int64.random(in: 20...60, using: &generator) * 1_000), at: time)
                default:
                    guard !pending.isEmpty else { effects = station.advance(to: time); break }
                    let pile = pending.keys.sorted()[Int.random(in: 0..<pending.count, using: &generator)]
                    let limit = pending[pile]!.removeFirst()
                    if pending[pile]!.isEmpty { pending[pile] = nil }
                    effects = station.must(.powerLimitAcknowledged(pileID: pile, watts: limit.watts, sequence: limit.sequence), at: time)
                }
                for case let .limitPower(pile, watts, sequence) in effects { pending[pile, default: []].append((watts, sequence)) }
                // Above the limit only after it was lowered (until the reductions are acknowledged) or when a charger
                // turns out to refuse limits; and then no step raises what may be drawn. (A step that lowers the
                // limit first advances the clock under the old one.)
                let limit = station.settings.powerLimitWatts!
                #expect(station.powerDrawBoundWatts <= max(limit, limitBefore, bound) || refusal,
                        "step \(step): \(station.powerDrawBoundWatts) W may be drawn behind \(limit) W")
                bound = station.powerDrawBoundWatts
            }
        }
    }
}

extension Station {
    /// Every charger takes the stops and acknowledges the limits it was sent, until nothing more is sent.
    mutating func settlePower(at time: Instant) {
        for state in StationSnapshot(self).piles where state.power?.stoppingW != nil {
            must(.chargingStopped(pileID: state.pile.id), at: time)
        }
        var sent = StationSnapshot(self).piles.compactMap { state in
            state.power.flatMap { power in power.pendingW.map { (pile: state.pile.id, watts: $0, sequence: power.sequence) } }
        }
        while !sent.isEmpty {
            var next: [(pile: Int, watts: Int64, sequence: Int64)] = []
            for limit in sent {
                for case let .limitPower(pile, watts, sequence) in must(.powerLimitAcknowledged(pileID: limit.pile, watts: limit.watts, sequence: limit.sequence), at: time) {
                    next.append((pile, watts, sequence))
                }
            }
            sent = next
        }
    }

    /// The pile's charger acknowledges the last limit it was sent, which must be `watts`.
    @discardableResult
    mutating func acknowledge(pile: Int, watts: Int64, at time: Instant) -> [StationEffect] {
        let power = StationSnapshot(self).piles.first { $0.pile.id == pile }!.power!
        precondition(power.pendingW == watts, "pile \(pile) was sent \(String(describing: power.pendingW)), not \(watts)")
        return must(.powerLimitAcknowledged(pileID: pile, watts: watts, sequence: power.sequence), at: time)
    }
}

extension [StationEffect] {
    /// The power limits sent, by pile (the last one per pile).
    var limitedPowers: [Int: Int64] {
        var limits: [Int: Int64] = [:]
        for case let .limitPower(pileID, watts, _) in self { limits[pileID] = watts }
        return limits
    }
}
