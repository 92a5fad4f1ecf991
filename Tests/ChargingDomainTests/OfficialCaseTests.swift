import ChargingDomain
import Foundation
import Testing
import PileSimulator

@Suite("The published acceptance case, replayed at engine level")
struct OfficialCaseTests {
    let clock = StationClock(
        timeZone: OfficialCase.timeZoneIdentifier,
        year: OfficialCase.date.year, month: OfficialCase.date.month, day: OfficialCase.date.day)

    func command(_ action: OfficialCase.Action) -> StationCommand {
        switch action {
        case let .submit(driver, mode, amount):
            .submit(driver: driver, mode: ChargingMode(rawValue: mode)!, requestedKWh: amount, batteryCapacityKWh: 200)
        case let .leave(driver): .cancel(driver: driver)
        case let .pileFails(pileID): .setPileStatus(pileID: pileID, status: .repair)
        case let .pileRecovers(pileID): .setPileStatus(pileID: pileID, status: .on)
        case let .changeAmount(driver, amount): .modify(driver: driver, mode: nil, requestedKWh: amount)
        }
    }

    struct Replay {
        var station: Station
        var bills: [Bill] = []
        var refused: [String] = []
    }

    func replay(check: (String, Station) -> Void = { _, _ in }) -> Replay {
        var station = Station(settings: .standard, now: clock.at("05:50"))
        for pileID in OfficialCase.fastPiles + OfficialCase.slowPiles {
            station.must(.setPileStatus(pileID: pileID, status: .on), at: clock.at("05:55"))
        }
        var replay = Replay(station: station)
        for event in OfficialCase.events {
            let time = clock.at(event.time)
            replay.bills += replay.station.advance(to: time).bills
            expectInvariants(replay.station)
            do {
                replay.bills += try replay.station.apply(command(event.action), at: time).bills
            } catch {
                replay.refused.append("\(event.time) \(event.action): \(error.message)")
            }
            expectInvariants(replay.station)
            check(event.time, replay.station)
        }
        replay.bills += replay.station.advance(to: clock.at("12:00", dayOffset: 1)).bills
        return replay
    }

    @Test("every published cell")
    func publishedCells() {
        var checked: [String] = []
        _ = replay { time, station in
            guard let expected = OfficialCase.expectations.first(where: { $0.time == time }) else { return }
            checked.append(time)
            if let piles = expected.piles {
                let charging = station.pileIDs.compactMap { id in
                    station.pileQueue(id)!.first.map {
                        OfficialCase.PileCell(pileID: id, driver: $0.driver, chargedKWh: $0.chargedKWh!, fee: $0.fee!)
                    }
                }
                #expect(charging == piles, "at \(time)")
            }
            if let waiting = expected.waiting {
                let actual = station.waitingArea().map {
                    OfficialCase.WaitingCell(driver: $0.driver, mode: $0.mode.rawValue, kWh: $0.requestedKWh)
                }
                #expect(actual == waiting, "at \(time)")
            }
            if time == "07:15" {
                #expect(OfficialCase.slowPiles.contains { station.drivers(atPile: $0).contains("V15") })
            }
        }
        #expect(checked == OfficialCase.expectations.map(\.time))
    }

    @Test("the last car finishes at 01:35 the next day")
    func endTime() {
        let replay = replay()
        #expect(replay.station.nextEventTime == nil)
        #expect(replay.station.waitingArea().isEmpty)
        let last = replay.bills.map(\.finishedAt).max()
        #expect(last.map(clock.wallTime) == clock.wallTime(clock.at(OfficialCase.lastCompletion.time, dayOffset: OfficialCase.lastCompletion.dayOffset)))
    }

    @Test("every bill matches an independent tariff calculation")
    func billsMatchReference() {
        let replay = replay()
        #expect(!replay.bills.isEmpty)
        for bill in replay.bills {
            expectFeesMatchReference(bill, powerWatts: OfficialCase.fastPiles.contains(bill.pileID) ? 30_000 : 10_000)
        }
        #expect(replay.bills.map(\.id) == Array(1...Int64(replay.bills.count)))
    }

    /// Under the rules as written the waiting area is full (8 fast cars, T10, T11) from 08:20 until after 09:00,
    /// so V26–V28 are refused and their later departures find no request. Every amount change succeeds.
    @Test("the events the rules refuse")
    func refusedEvents() {
        #expect(replay().refused == [
            "08:30 submit(driver: \"V26\", mode: \"T\", kWh: 20): 等候区已满",
            "08:35 submit(driver: \"V27\", mode: \"T\", kWh: 25): 等候区已满",
            "09:00 submit(driver: \"V28\", mode: \"F\", kWh: 30): 等候区已满",
            "09:20 leave(driver: \"V27\"): 没有进行中的充电请求",
            "09:35 leave(driver: \"V28\"): 没有进行中的充电请求",
        ])
    }

    @Test("trace", .disabled(if: ProcessInfo.processInfo.environment["TRACE_OFFICIAL_CASE"] == nil))
    func trace() {
        let replay = replay { time, station in
            let piles = station.pileIDs.map { "\($0):" + station.drivers(atPile: $0).joined(separator: ",") }
            print(time, piles.joined(separator: " "), "| wait:", station.waitingArea().map { "\($0.driver)\($0.state == .displaced ? "*" : "")" }.joined(separator: ","))
        }
        for bill in replay.bills {
            print(bill.id, bill.driver, bill.queueNumber, "pile", bill.pileID, clock.wallTime(bill.startedAt), "→", clock.wallTime(bill.finishedAt), bill.energyKWh, bill.totalFee, bill.endedBy)
        }
        print(replay.refused.joined(separator: "\n"))
    }
}
