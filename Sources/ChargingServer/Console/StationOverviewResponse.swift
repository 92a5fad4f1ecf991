import ChargingStore
import Foundation

/// A row of `GET /admin/stations`: a station, its piles by status, its cars, and today's detail records.
struct StationOverviewResponse: Encodable, Sendable {
    var station_id: Int
    var name: String
    var time_zone: String
    /// The station's local date of the `…_today` figures.
    var today: String
    var piles: Int64
    var piles_on: Int64
    var piles_off: Int64
    var piles_repair: Int64
    var piles_offline: Int64
    var piles_connected: Int64
    var cars_waiting: Int64
    var cars_queued: Int64
    var cars_charging: Int64
    var sessions_today: Int64
    var energy_kwh_today: Double
    var revenue_today: Double

    init(_ row: StationDirectory.Overview) {
        station_id = row.stationID
        name = row.name
        time_zone = row.timeZone
        today = row.today
        piles = row.piles
        piles_on = row.pilesOn
        piles_off = row.pilesOff
        piles_repair = row.pilesRepair
        piles_offline = row.pilesOffline
        piles_connected = row.pilesConnected
        cars_waiting = row.carsWaiting
        cars_queued = row.carsQueued
        cars_charging = row.carsCharging
        sessions_today = row.sessionsToday
        energy_kwh_today = row.energyKWhToday.rounded(3)
        revenue_today = row.revenueToday.rounded(2)
    }
}
