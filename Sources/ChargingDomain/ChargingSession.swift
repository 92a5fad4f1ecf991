import Foundation

/// The car in slot 1 of a working pile, charging. The energy and charging fee are settled up to the
/// checkpoint (the start, or the last meter reading); after it the pile's power is the model.
struct ChargingSession: Codable, Sendable, Equatable {
    let requestID: Int64
    let startedAt: Instant
    /// What this session should deliver: the request's remainder when it started.
    let target: Energy
    var checkpointTime: Instant
    var checkpointEnergy: Energy
    var chargingFeeAtCheckpoint: ExactFee
    /// When `target` is reached at the pile's power, rounded up to the next whole millisecond.
    var completesAt: Instant
    /// The power allocated to this car under a station power limit; nil: the pile's power.
    var powerWatts: Int64?

    init(requestID: Int64, target: Energy, powerWatts: Int64, startingAt start: Instant, allocatedWatts: Int64? = nil) {
        self.powerWatts = allocatedWatts
        self.requestID = requestID
        self.startedAt = start
        self.target = target
        checkpointTime = start
        checkpointEnergy = .zero
        chargingFeeAtCheckpoint = .zero
        completesAt = start + target.chargingTime(atPowerWatts: allocatedWatts ?? powerWatts)
    }

    /// A session exactly as stored (`StationSnapshot`).
    init(requestID: Int64, startedAt: Instant, target: Energy, checkpointTime: Instant, checkpointEnergy: Energy,
         chargingFeeAtCheckpoint: ExactFee, completesAt: Instant, powerWatts: Int64? = nil) {
        self.powerWatts = powerWatts
        self.requestID = requestID
        self.startedAt = startedAt
        self.target = target
        self.checkpointTime = checkpointTime
        self.checkpointEnergy = checkpointEnergy
        self.chargingFeeAtCheckpoint = chargingFeeAtCheckpoint
        self.completesAt = completesAt
    }

    func energy(at time: Instant, powerWatts: Int64) -> Energy {
        let modelled = Energy.delivered(atPowerWatts: powerWatts, during: max(0, time - checkpointTime))
        return min(target, checkpointEnergy + modelled)
    }

    func chargingFee(at time: Instant, powerWatts: Int64, tariff: TariffSchedule) -> ExactFee {
        let sinceCheckpoint = energy(at: time, powerWatts: powerWatts) - checkpointEnergy
        return chargingFeeAtCheckpoint
            + tariff.chargingFee(powerWatts: powerWatts, from: checkpointTime, to: time, cappedAt: sinceCheckpoint)
    }

    /// A meter reading replaces the model: the energy since the last checkpoint is spread evenly over that
    /// time for the tariff, and the completion moves to match what is left.
    mutating func record(meterReading reading: Energy, at time: Instant, powerWatts: Int64, tariff: TariffSchedule) {
        chargingFeeAtCheckpoint += tariff.chargingFee(spreading: reading - checkpointEnergy, from: checkpointTime, to: time)
        checkpointTime = time
        checkpointEnergy = reading
        completesAt = time + (target - reading).chargingTime(atPowerWatts: powerWatts)
    }

    /// The car's power changes now (`from` → `to`): the model is settled up to now, like a meter reading,
    /// and the completion moves to match what is left at the new power.
    mutating func changePower(from current: Int64, to allocated: Int64?, pilePowerWatts: Int64, at time: Instant, tariff: TariffSchedule) {
        let next = allocated ?? pilePowerWatts
        if next != current {
            let energy = energy(at: time, powerWatts: current)
            chargingFeeAtCheckpoint = chargingFee(at: time, powerWatts: current, tariff: tariff)
            checkpointTime = max(checkpointTime, time)
            checkpointEnergy = energy
            completesAt = checkpointTime + (target - energy).chargingTime(atPowerWatts: next)
        }
        powerWatts = allocated
    }
}
