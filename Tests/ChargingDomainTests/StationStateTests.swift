import ChargingDomain
import Foundation
import Testing

@Suite("Station state: persistence, all-or-nothing commands, read models")
struct StationStateTests {
    let clock = StationClock()

    /// Displaced cars, queues, a waiting area, a meter checkpoint and finished bills.
    func busyStation() -> Station {
        var station = FaultTests().busyStation(.priority)
        station.must(.meter(pileID: 2, requestID: 2, energyKWh: kWh("1.234567")), at: clock.at("06:10"))
        station.must(.setPileStatus(pileID: 1, status: .repair), at: clock.at("06:30"))
        station.submit("g", .fast, "10", at: clock.at("06:40"))
        return station
    }

    @Test("a busy station round-trips through JSON exactly and behaves the same afterwards")
    func codableRoundTrip() throws {
        var station = busyStation()
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys  // key order is otherwise unspecified
        let data = try encoder.encode(station)
        var decoded = try JSONDecoder().decode(Station.self, from: data)
        #expect(decoded == station)
        #expect(try encoder.encode(decoded) == data)
        let later = clock.at("12:00")
        #expect(decoded.advance(to: later) == station.advance(to: later))
        #expect(decoded == station)
    }

    @Test("settings round-trip through JSON")
    func settingsRoundTrip() throws {
        let data = try JSONEncoder().encode(StationSettings.standard)
        #expect(try JSONDecoder().decode(StationSettings.self, from: data) == .standard)
    }

    @Test("a refused command changes nothing, not even the time, though completions were due")
    func allOrNothing() {
        var station = busyStation()
        let before = station
        let later = clock.at("11:00")
        let refused: [StationCommand] = [
            .submit(driver: "g", mode: .slow, requestedKWh: 5, batteryCapacityKWh: 50),
            .submit(driver: "z", mode: .slow, requestedKWh: 0, batteryCapacityKWh: 50),
            .modify(driver: "d", mode: nil, requestedKWh: 5),
            .cancel(driver: "nobody"),
            .setPileStatus(pileID: 42, status: .on),
            .meter(pileID: 2, requestID: 99, energyKWh: 1),
        ]
        for command in refused {
            #expect(throws: StationError.self) { try station.apply(command, at: later) }
            #expect(station == before)
        }
    }

    @Test("every error has a Chinese message")
    func messages() {
        let errors: [StationError] = [
            .waitingAreaFull, .invalidAmount, .alreadyHasActiveRequest, .noActiveRequest, .notInWaitingArea,
            .nothingToModify, .unknownPile, .pileAlreadyExists, .unknownRequest, .invalidMeterReading, .implausibleMeterReading,
            .invalidSettings("x"),
        ]
        #expect(StationError.waitingAreaFull.message == "等候区已满")
        #expect(StationError.unknownPile.message == "充电桩不存在")
        #expect(Set(errors.map(\.message)).count == errors.count)
    }

    @Test("the driver's view in each state")
    func requestViews() {
        var station = Station.running(settings(slow: 1, queueLength: 2), at: clock.at("06:00"))
        for driver in ["a", "b", "c", "d"] { station.submit(driver, .slow, "10", at: clock.at("06:00")) }
        _ = station.advance(to: clock.at("06:30"))
        let a = station.request(of: "a")!
        #expect(a.state == .charging && a.pileID == 1 && a.carsAhead == 0 && a.waitingSeconds == 0)
        #expect(a.chargedKWh == 5 && a.chargingFee == 2 && a.serviceFee == 4)
        let b = station.request(of: "b")!
        #expect(b.state == .queued && b.pileID == 1 && b.carsAhead == 1 && b.waitingSeconds == 1_800)
        let d = station.request(of: "d")!
        #expect(d.state == .waiting && d.pileID == nil && d.carsAhead == 1 && d.queueNumber == "T4")
        #expect(station.request(of: "nobody") == nil)
        _ = station.advance(to: clock.at("07:15"))
        #expect(station.request(of: "b")?.waitingSeconds == 3_600)  // charging since 07:00
        #expect(station.pileQueue(1)?.map(\.state) == [.charging, .queued])
        #expect(station.pileQueue(1)?.first?.fee == kWh("3.75"))     // 2.5 kWh × (0.7 + 0.8)
        #expect(station.pileQueue(9) == nil && station.pileStatus(9) == nil)
    }

    @Test("active requests say where each car is")
    func activeRequests() {
        var station = FaultTests().busyStation(.priority)
        station.must(.setPileStatus(pileID: 1, status: .repair), at: clock.at("06:30"))
        let summary = station.activeRequests.map { "\($0.driver) \($0.state.rawValue) \($0.pileID.map(String.init) ?? "-") \($0.queuePosition.map(String.init) ?? "-")" }
        #expect(summary == ["a queued 2 3", "b charging 2 1", "c displaced - -", "d displaced - -", "e queued 2 2", "f waiting - -"])
        let a = station.activeRequests[0]
        #expect(a.requestedKWh == 10 && a.remainingKWh == 5 && a.firstChargedAt == clock.at("06:00") && a.queueNumber == "T1")
    }

    @Test("a provisioned pile joins the station off, in id order")
    func addPile() throws {
        var station = Station.running(settings(slow: 1), at: clock.at("06:00"))
        try station.addPile(PileSpec(id: 0, mode: .fast, powerWatts: 30_000))
        #expect(station.pileIDs == [0, 1] && station.pileStatus(0) == .off)
        #expect(station.settings.piles.map(\.id) == [0, 1])
        #expect(throws: StationError.pileAlreadyExists) { try station.addPile(PileSpec(id: 1, mode: .fast, powerWatts: 30_000)) }
        #expect(throws: StationError.self) { try station.addPile(PileSpec(id: 2, mode: .fast, powerWatts: 0)) }
        station.must(.setPileStatus(pileID: 0, status: .on), at: clock.at("06:01"))
        station.submit("f", .fast, "10", at: clock.at("06:02"))
        #expect(station.drivers(atPile: 0) == ["f"])
    }

    @Test("a copy advanced for reading leaves the station alone")
    func advancedCopy() {
        var station = Station.running(settings(slow: 1), at: clock.at("06:00"))
        station.submit("a", .slow, "10", at: clock.at("06:00"))
        let copy = station.advanced(to: clock.at("08:00"))
        #expect(copy.request(of: "a") == nil && station.request(of: "a") != nil)
        #expect(station.now == clock.at("06:00"))
    }
}
