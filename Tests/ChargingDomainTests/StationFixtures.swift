import ChargingDomain
import Foundation

extension Station {
    /// A station at `start` with every pile switched on.
    static func running(_ settings: StationSettings = .standard, at start: Instant) -> Station {
        var station = Station(settings: settings, now: start)
        for pile in settings.piles {
            _ = try! station.apply(.setPileStatus(pileID: pile.id, status: .on), at: start)
        }
        return station
    }

    /// Applies a command that must succeed.
    @discardableResult
    mutating func must(_ command: StationCommand, at time: Instant) -> [StationEffect] {
        do {
            return try apply(command, at: time)
        } catch {
            preconditionFailure("\(command) failed: \(error.message)")
        }
    }

    mutating func submit(_ driver: String, _ mode: ChargingMode, _ amount: String, at time: Instant, battery: String = "200") {
        must(.submit(driver: driver, mode: mode, requestedKWh: kWh(amount), batteryCapacityKWh: kWh(battery)), at: time)
    }

    /// The drivers in a pile's queue, charging one first.
    func drivers(atPile pileID: Int) -> [String] {
        pileQueue(pileID)!.map(\.driver)
    }

    func waitingDrivers() -> [String] {
        waitingArea().map(\.driver)
    }
}

extension [StationEffect] {
    var bills: [Bill] {
        compactMap { if case let .billed(bill) = $0 { bill } else { nil } }
    }

    var startedDrivers: [String] {
        compactMap { if case let .startCharging(_, _, driver, _, _) = $0 { driver } else { nil } }
    }
}

/// Slow-only or fast-only small stations make the rules easy to see.
func settings(
    fast: Int = 0, slow: Int = 0, queueLength: Int = 3, waitingCapacity: Int = 10,
    policy: FaultPolicy = .priority, timeZone: String = "Asia/Shanghai"
) -> StationSettings {
    var piles: [PileSpec] = []
    for _ in 0..<fast { piles.append(PileSpec(id: piles.count + 1, mode: .fast, powerWatts: 30_000)) }
    for _ in 0..<slow { piles.append(PileSpec(id: piles.count + 1, mode: .slow, powerWatts: 10_000)) }
    var tariff = TariffSchedule.standard
    tariff.timeZoneIdentifier = timeZone
    return StationSettings(
        piles: piles, queueLength: queueLength, waitingCapacity: waitingCapacity,
        tariff: tariff, serviceFeePerKWh: kWh("0.8"), faultPolicy: policy)
}
