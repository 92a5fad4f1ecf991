import ChargingDomain
import Testing

@Suite("offline sessions: plausibility and the billed period")
struct OfflineSessionTests {
    static let minute: Instant = 60_000
    static let noon: Instant = 1_700_000_000_000

    static func session(start: Instant, stop: Instant, wh: Int64, provisioned: Instant? = nil) -> OfflineSession {
        OfflineSession(chargerStart: start, chargerStop: stop, meteredWh: wh, powerWatts: 10_000, provisionedAt: provisioned)
    }

    @Test("plausible figures keep the charger's times and carry no flag")
    func plausible() {
        let period = Self.session(start: Self.noon - 120 * Self.minute, stop: Self.noon - 90 * Self.minute, wh: 5_000)
            .billedPeriod(receivedStop: Self.noon)
        #expect(period?.start == Self.noon - 120 * Self.minute)
        #expect(period?.end == Self.noon - 90 * Self.minute)
        #expect(period?.flags == [])
    }

    @Test("each implausible figure is flagged, and the period ends at receipt after the time the energy needs at full power")
    func implausible() {
        let cases: [(OfflineSession, OfflineSession.Flag)] = [
            (Self.session(start: Self.noon - 10 * Self.minute, stop: Self.noon - 20 * Self.minute, wh: 1_000), .stopBeforeStart),
            (Self.session(start: Self.noon - 10 * Self.minute, stop: Self.noon + 6 * Self.minute, wh: 1_000), .stopInFuture),
            (Self.session(start: Self.noon + 6 * Self.minute, stop: Self.noon + 20 * Self.minute, wh: 1_000), .startInFuture),
            (Self.session(start: Self.noon - 60 * Self.minute, stop: Self.noon - 50 * Self.minute, wh: 1_000, provisioned: Self.noon - 55 * Self.minute),
             .startBeforeProvisioning),
            (Self.session(start: Self.noon - 60 * Self.minute, stop: Self.noon - 54 * Self.minute, wh: 1_100), .energyBeyondPower),
        ]
        for (session, flag) in cases {
            let period = session.billedPeriod(receivedStop: Self.noon)
            #expect(period?.flags.contains(flag) == true, "\(flag)")
            #expect(period?.end == Self.noon)
            #expect(period?.start == Self.noon - 6 * Self.minute * session.meteredWh / 1_000, "\(flag)")
        }
        // 1 kWh in 6 minutes at 10 kW is exactly the pile's power: plausible; a 4 % more is not.
        #expect(Self.session(start: 0, stop: 6 * Self.minute, wh: 1_000).flags(receivedStop: Self.noon) == [])
        #expect(Self.session(start: 0, stop: 6 * Self.minute, wh: 1_040).flags(receivedStop: Self.noon) == [.energyBeyondPower])
    }

    @Test("a meter that ran backwards or past 1000 kWh bills nothing")
    func meterImplausible() {
        #expect(Self.session(start: 0, stop: Self.minute, wh: -1).billedPeriod(receivedStop: Self.noon) == nil)
        #expect(Self.session(start: 0, stop: 200 * 60 * Self.minute, wh: 1_000_001).billedPeriod(receivedStop: Self.noon) == nil)
        #expect(Self.session(start: 0, stop: Self.minute, wh: -1).flags(receivedStop: Self.noon) == [.meterImplausible])
    }

    @Test("a request id taken for an offline session is never the engine's next")
    func requestIDs() throws {
        var station = Station(settings: .standard, now: 0)
        let taken = station.takeRequestID()
        #expect(station.takeRequestID() == taken + 1)
    }
}
