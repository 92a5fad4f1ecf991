import ChargingDomain
import Foundation
import Testing

/// `chargepile station add`: its tariff text, and the rules a station must have before it has piles.
@Suite("A new station's rules")
struct StationSiteRulesTests {
    @Test("the tariff text reads as periods, wrapping past midnight; text that doesn't read is nil")
    func tariffText() throws {
        let schedule = try #require(TariffSchedule(periodsText: "valley:23-7=0.4, day:7-23=0.95", timeZoneIdentifier: "Europe/Berlin"))
        #expect(schedule.periods == [TariffPeriod(name: "valley", startHour: 23, endHour: 7, pricePerKWh: Decimal(string: "0.4")!),
                                     TariffPeriod(name: "day", startHour: 7, endHour: 23, pricePerKWh: Decimal(string: "0.95")!)])
        #expect(schedule.timeZoneIdentifier == "Europe/Berlin")
        #expect(schedule.period(atLocalHour: 3)?.name == "valley")
        for bad in ["", "valley", "valley:23-7", "valley:23=0.4", ":1-2=0.4", "valley:a-7=0.4", "valley:23-7=-1", "valley:23-7=0.4=1", "valley:23-7=1e3"] {
            #expect(TariffSchedule(periodsText: bad) == nil, "\(bad)")
        }
    }

    @Test("a station without piles is valid when its other rules are; validate() still wants piles")
    func rulesWithoutPiles() throws {
        var settings = StationSettings.standard
        settings.piles = []
        try settings.validateSiteRules()
        #expect(throws: StationError.invalidSettings("没有充电桩")) { try settings.validate() }
        settings.tariff = try #require(TariffSchedule(periodsText: "valley:23-7=0.4,day:7-22=0.9"))
        #expect(throws: StationError.invalidSettings("电价时段必须恰好覆盖每个小时（22时）")) { try settings.validateSiteRules() }
        settings.tariff = .standard
        settings.queueLength = 0
        #expect(throws: StationError.self) { try settings.validateSiteRules() }
        settings.queueLength = 2
        settings.tariff.timeZoneIdentifier = "Mars/Olympus"
        #expect(throws: StationError.invalidSettings("时区无效")) { try settings.validateSiteRules() }
    }

    @Test("the first pile makes a station of no piles whole, and it schedules")
    func firstPile() throws {
        var settings = StationSettings.standard
        settings.piles = []
        var station = Station(settings: settings, now: 0)
        try station.addPile(PileSpec(id: 21, mode: .fast, powerWatts: 30_000))
        #expect(station.pileIDs == [21])
    }
}
