import ChargingDomain
import Foundation
import Testing

@Suite("Reservations: the car next at a pile, and operators' windows")
struct ReservationTests {
    let clock = StationClock()
    let quarterHour: Int64 = 15 * 60_000

    /// One slow pile (10 kW): a charges 10 kWh from 06:00 (until 07:00), b and c queued behind.
    func busyPile() -> (Station, [StationEffect]) {
        var station = Station.running(settings(slow: 1, queueLength: 3), at: clock.at("06:00"))
        var effects: [StationEffect] = []
        for driver in ["a", "b", "c"] {
            effects += station.must(.submit(driver: driver, mode: .slow, requestedKWh: 10, batteryCapacityKWh: 60), at: clock.at("06:00"))
        }
        return (station, effects)
    }

    static func reservations(_ effects: [StationEffect]) -> [StationEffect] {
        effects.filter {
            switch $0 {
            case .reservePile, .cancelPileReservation: true
            default: false
            }
        }
    }

    @Test("the car next after the one charging is reserved until the charging car's end plus the reservation time")
    func nextCarReserved() {
        let (_, effects) = busyPile()
        #expect(Self.reservations(effects) == [.reservePile(pileID: 1, requestID: 2, driver: "b", expiresAt: clock.at("07:00") + quarterHour)])
    }

    @Test("the car charging and the cars behind the next one are not reserved; nothing changes, nothing is sent again")
    func onlyTheNextCar() {
        var (station, _) = busyPile()
        let effects = station.must(.meter(pileID: 1, requestID: 1, energyKWh: 1), at: clock.at("06:10"))
        #expect(Self.reservations(effects).isEmpty)
    }

    @Test("the reserved car starting uses its reservation up (no cancel); the car after it is reserved")
    func startConsumes() {
        var (station, _) = busyPile()
        let effects = station.advance(to: clock.at("07:00"))
        #expect(effects.startedDrivers == ["b"])
        #expect(Self.reservations(effects) == [.reservePile(pileID: 1, requestID: 3, driver: "c", expiresAt: clock.at("08:00") + quarterHour)])
    }

    @Test("a reserved driver who cancels: the reservation is cancelled and the next car reserved")
    func cancelled() {
        var (station, _) = busyPile()
        let effects = station.must(.cancel(driver: "b"), at: clock.at("06:10"))
        #expect(Self.reservations(effects) == [
            .cancelPileReservation(pileID: 1, requestID: 2),
            .reservePile(pileID: 1, requestID: 3, driver: "c", expiresAt: clock.at("07:00") + quarterHour),
        ])
    }

    @Test("a pile that fails keeps nothing: its reservation is cancelled")
    func faultCancels() {
        var (station, _) = busyPile()
        let effects = station.must(.setPileStatus(pileID: 1, status: .repair), at: clock.at("06:10"))
        #expect(Self.reservations(effects) == [.cancelPileReservation(pileID: 1, requestID: 2)])
    }

    @Test("a car moved to another pile by a fault is reserved there")
    func movedCar() {
        var station = Station.running(settings(slow: 2, queueLength: 2), at: clock.at("06:00"))
        for driver in ["a", "b", "c", "d"] { station.submit(driver, .slow, "10", at: clock.at("06:00")) }
        // a charges at 1 with c next, b at 2 with d next.
        let effects = station.must(.setPileStatus(pileID: 2, status: .repair), at: clock.at("06:10"))
        #expect(Self.reservations(effects).contains(.cancelPileReservation(pileID: 2, requestID: 4)))
        #expect(!effects.contains { if case .reservePile(2, _, _, _) = $0 { true } else { false } })
    }

    @Test("the reservation time is a station setting, 1 to 1440 minutes")
    func reservationMinutes() {
        var station = Station.running(settings(slow: 1), at: clock.at("06:00"))
        #expect(station.settings.reservationMinutes == 15)
        #expect(throws: StationError.self) { try station.apply(.setReservationMinutes(0), at: clock.at("06:00")) }
        #expect(throws: StationError.self) { try station.apply(.setReservationMinutes(1_441), at: clock.at("06:00")) }
        station.must(.setReservationMinutes(30), at: clock.at("06:00"))
        station.submit("a", .slow, "10", at: clock.at("06:00"))
        let effects = station.must(.submit(driver: "b", mode: .slow, requestedKWh: 5, batteryCapacityKWh: 60), at: clock.at("06:00"))
        #expect(Self.reservations(effects) == [.reservePile(pileID: 1, requestID: 2, driver: "b", expiresAt: clock.at("07:30"))])
    }

    // MARK: operators' windows

    func reservation(_ id: Int64 = 1, pile: Int = 1, driver: String = "vip", from: String, until: String) -> PileReservation {
        PileReservation(id: id, pileID: pile, driver: driver, from: clock.at(from), until: clock.at(until))
    }

    @Test("another driver's car whose charging would overlap the window goes to another pile")
    func otherPileWhenOverlapping() {
        var station = Station.running(settings(slow: 2), at: clock.at("06:00"))
        station.must(.reserve(reservation(from: "06:30", until: "08:00")), at: clock.at("06:00"))
        station.submit("a", .slow, "10", at: clock.at("06:00"))  // 06:00–07:00 at pile 1 would overlap
        #expect(station.drivers(atPile: 2) == ["a"])
        station.submit("vip", .slow, "10", at: clock.at("06:00"))
        #expect(station.drivers(atPile: 1) == ["vip"])
    }

    @Test("a car that would finish before the window starts may use the pile")
    func beforeTheWindow() {
        var station = Station.running(settings(slow: 2), at: clock.at("06:00"))
        station.must(.reserve(reservation(from: "08:00", until: "09:00")), at: clock.at("06:00"))
        station.submit("a", .slow, "5", at: clock.at("06:00"))  // 06:00–06:30
        #expect(station.drivers(atPile: 1) == ["a"])
    }

    @Test("a car held back waits; it goes to the pile when the window ends (a ticker event) or is cancelled")
    func heldBackUntilTheEnd() {
        var station = Station.running(settings(slow: 1), at: clock.at("06:00"))
        station.must(.reserve(reservation(from: "06:00", until: "07:00")), at: clock.at("06:00"))
        station.submit("a", .slow, "5", at: clock.at("06:00"))
        #expect(station.waitingDrivers() == ["a"])
        #expect(station.nextEventTime == clock.at("07:00"))
        var cancelled = station
        let effects = station.advance(to: clock.at("07:00"))
        #expect(effects.startedDrivers == ["a"])
        #expect(station.reservations.isEmpty)
        #expect(cancelled.must(.cancelReservation(id: 1), at: clock.at("06:10")).startedDrivers == ["a"])
    }

    @Test("a walk-up card of another driver is refused at a reserved pile during the window")
    func walkUpRefused() {
        var station = Station.running(settings(slow: 1), at: clock.at("06:00"))
        station.must(.reserve(reservation(from: "06:00", until: "07:00")), at: clock.at("06:00"))
        #expect(throws: StationError.pileBusy) {
            try station.apply(.plugIn(driver: "a", pileID: 1, requestedKWh: 5, batteryCapacityKWh: 60), at: clock.at("06:05"))
        }
        station.must(.plugIn(driver: "vip", pileID: 1, requestedKWh: 5, batteryCapacityKWh: 60), at: clock.at("06:05"))
    }

    @Test("a window must end after it starts and after now, on a pile that exists; only a known one can be cancelled")
    func invalidWindows() {
        var station = Station.running(settings(slow: 1), at: clock.at("06:00"))
        #expect(throws: StationError.invalidReservation) { try station.apply(.reserve(reservation(from: "07:00", until: "07:00")), at: clock.at("06:00")) }
        #expect(throws: StationError.invalidReservation) { try station.apply(.reserve(reservation(from: "04:00", until: "05:00")), at: clock.at("06:00")) }
        #expect(throws: StationError.unknownPile) { try station.apply(.reserve(reservation(pile: 9, from: "07:00", until: "08:00")), at: clock.at("06:00")) }
        #expect(throws: StationError.unknownReservation) { try station.apply(.cancelReservation(id: 5), at: clock.at("06:00")) }
        #expect(station.reservations.isEmpty)
    }

    @Test("windows and the reservation time survive the stored format, as rows too")
    func stored() throws {
        var station = Station.running(settings(slow: 1), at: clock.at("06:00"))
        station.must(.reserve(reservation(from: "07:00", until: "08:00")), at: clock.at("06:00"))
        station.must(.setReservationMinutes(20), at: clock.at("06:00"))
        #expect(try StationSnapshot.decodeStation(from: StationSnapshot.encode(station)) == station)
        let rows = try StationSnapshot.rows(of: station, since: nil)
        let piles = "[" + rows.piles.map { String(decoding: $0.state, as: UTF8.self) }.joined(separator: ",") + "]"
        #expect(try StationSnapshot.assemble(header: rows.header!, piles: Data(piles.utf8), requests: Data("[]".utf8)) == station)
    }
}
