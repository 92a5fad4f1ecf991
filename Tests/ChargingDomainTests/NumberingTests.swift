import ChargingDomain
import Testing

@Suite("Rule 1: queue numbers")
struct NumberingTests {
    let clock = StationClock()

    @Test("per-mode counters in arrival order")
    func perModeCounters() {
        var station = Station.running(at: clock.at("06:00"))
        var numbers: [String] = []
        for (driver, mode) in [("a", ChargingMode.fast), ("b", .slow), ("c", .fast), ("d", .slow), ("e", .slow)] {
            let effects = station.must(.submit(driver: driver, mode: mode, requestedKWh: 10, batteryCapacityKWh: 50), at: clock.at("06:01"))
            if case let .accepted(_, number) = effects.first { numbers.append(number) }
        }
        #expect(numbers == ["F1", "T1", "F2", "T2", "T3"])
        #expect(station.request(of: "e")?.requestID == 5)
    }

    @Test("numbers are never reused and a refused request uses no number nor request id")
    func neverReusedRefusedUsesNone() {
        // One slow pile holding one car, a waiting area of one.
        var station = Station.running(settings(slow: 1, queueLength: 1, waitingCapacity: 1), at: clock.at("06:00"))
        station.submit("a", .slow, "10", at: clock.at("06:00"))  // T1 charges
        station.submit("b", .slow, "10", at: clock.at("06:01"))  // T2 waits
        #expect(throws: StationError.waitingAreaFull) {
            try station.apply(.submit(driver: "c", mode: .slow, requestedKWh: 10, batteryCapacityKWh: 50), at: clock.at("06:02"))
        }
        #expect(throws: StationError.invalidAmount) {
            try station.apply(.submit(driver: "c", mode: .slow, requestedKWh: 60, batteryCapacityKWh: 50), at: clock.at("06:02"))
        }
        station.must(.cancel(driver: "b"), at: clock.at("06:03"))
        let effects = station.must(.submit(driver: "d", mode: .slow, requestedKWh: 10, batteryCapacityKWh: 50), at: clock.at("06:04"))
        #expect(effects.first == .accepted(requestID: 3, queueNumber: "T3"))
    }
}
