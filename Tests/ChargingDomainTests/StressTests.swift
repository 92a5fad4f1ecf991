import ChargingDomain
import Foundation
import Testing

/// A fixed-seed generator, so the run is the same every time.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state >> 11 ^ state << 7
    }
}

@Suite("Many random commands keep every invariant")
struct StressTests {
    let clock = StationClock()

    @Test("invariants, energy conservation and persistence hold", arguments: [FaultPolicy.priority, .timeOrder])
    func randomCommands(policy: FaultPolicy) throws {
        var generator = SeededGenerator(state: policy == .priority ? 42 : 7)
        var stationSettings = StationSettings.standard
        stationSettings.faultPolicy = policy
        stationSettings.waitingCapacity = 6
        var station = Station.running(stationSettings, at: clock.at("00:00"))
        let drivers = (1...25).map { "d\($0)" }
        let statuses: [PileStatus] = [.on, .on, .on, .off, .repair, .offline]
        var requested: [Int64: Decimal] = [:]
        var delivered: [Int64: Int64] = [:]  // W·ms billed per request
        var completed = 0
        var time = clock.at("00:00")
        for step in 0..<3_000 {
            time += Int64.random(in: 0...600_000, using: &generator)
            let driver = drivers.randomElement(using: &generator)!
            let mode: ChargingMode = Bool.random(using: &generator) ? .fast : .slow
            let amount = Decimal(Int.random(in: 1...600, using: &generator)) / 10
            let command: StationCommand
            switch Int.random(in: 0..<10, using: &generator) {
            case 0..<4: command = .submit(driver: driver, mode: mode, requestedKWh: amount, batteryCapacityKWh: 60)
            case 4: command = .cancel(driver: driver)
            case 5: command = .modify(driver: driver, mode: Bool.random(using: &generator) ? mode : nil, requestedKWh: amount)
            case 6, 7: command = .setPileStatus(pileID: Int.random(in: 1...5, using: &generator), status: statuses.randomElement(using: &generator)!)
            default:
                let pileID = Int.random(in: 1...5, using: &generator)
                let charging = station.pileQueue(pileID)?.first
                command = .meter(pileID: pileID, requestID: charging?.requestID ?? 0, energyKWh: (charging?.chargedKWh ?? 0) / 2 + amount / 20)
            }
            let before = station
            let activeID = station.request(of: driver)?.requestID
            let effects: [StationEffect]
            do {
                effects = try station.apply(command, at: time)
            } catch {
                #expect(station == before)
                continue
            }
            expectInvariants(station)
            if case let .modify(_, _, amount?) = command, let activeID { requested[activeID] = amount }
            for effect in effects {
                switch effect {
                case let .accepted(requestID, _):
                    if case let .submit(_, _, amount, _) = command { requested[requestID] = amount }
                case let .billed(bill):
                    delivered[bill.requestID, default: 0] += bill.energy.wattMilliseconds
                    #expect(bill.totalFee == bill.chargingFee + bill.serviceFee)
                    #expect(bill.finishedAt >= bill.startedAt)
                case let .requestFinished(requestID, _, .completed):
                    // Over all its sessions a completed request received exactly what it asked for.
                    #expect(delivered[requestID] == Energy(kWh: requested[requestID]!)!.wattMilliseconds)
                    completed += 1
                default:
                    break
                }
            }
            if step % 250 == 0 {
                let decoded = try JSONDecoder().decode(Station.self, from: JSONEncoder().encode(station))
                #expect(decoded == station)
            }
        }
        _ = station.advance(to: time + 48 * 3_600_000)
        expectInvariants(station)
        #expect(requested.count > 100 && completed > 50)
    }
}
