import ChargingDomain
import Foundation
import PostgresClient

/// The operator's sites: creating a station, listing them with what each is doing (`station_overview`,
/// migration 0013), and which station a driver's active request is at.
public struct StationDirectory: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    /// A row of `station_overview`.
    public struct Overview: Sendable, Equatable {
        public var stationID: Int
        public var name: String
        public var timeZone: String
        /// The station's local date its `…Today` figures are for, `YYYY-MM-DD`.
        public var today: String
        public var piles: Int64
        public var pilesOn: Int64
        public var pilesOff: Int64
        public var pilesRepair: Int64
        public var pilesOffline: Int64
        public var pilesConnected: Int64
        public var carsWaiting: Int64
        public var carsQueued: Int64
        public var carsCharging: Int64
        public var sessionsToday: Int64
        public var energyKWhToday: Decimal
        public var revenueToday: Decimal

        init(row: PostgresRow) throws {
            stationID = try row.decode("station_id")
            name = try row.decode("name")
            timeZone = try row.decode("time_zone")
            today = try row.decode("today")
            piles = try row.decode("piles")
            pilesOn = try row.decode("piles_on")
            pilesOff = try row.decode("piles_off")
            pilesRepair = try row.decode("piles_repair")
            pilesOffline = try row.decode("piles_offline")
            pilesConnected = try row.decode("piles_connected")
            carsWaiting = try row.decode("cars_waiting")
            carsQueued = try row.decode("cars_queued")
            carsCharging = try row.decode("cars_charging")
            sessionsToday = try row.decode("sessions_today")
            energyKWhToday = try row.decode("energy_kwh_today")
            revenueToday = try row.decode("revenue_today")
        }
    }

    /// Every station by id, or only `stationID`.
    public func overview(stationID: Int? = nil) async throws -> [Overview] {
        try await pool.query("""
            SELECT station_id, name, time_zone, today::text AS today, piles, piles_on, piles_off, piles_repair, piles_offline,
                   piles_connected, cars_waiting, cars_queued, cars_charging, sessions_today, energy_kwh_today, revenue_today
            FROM station_overview
            WHERE (\(stationID)::integer IS NULL OR station_id = \(stationID)::integer)
            ORDER BY station_id
            """).map(Overview.init(row:))
    }

    public func exists(_ stationID: Int) async throws -> Bool {
        try await !pool.query("SELECT 1 FROM stations WHERE id = \(stationID)").isEmpty
    }


    /// A new station without piles (`pile add --station` adds them), on a real clock unless told; `StoreError.stationExists`
    /// when the id is taken.
    public func add(id: Int, name: String, settings: StationSettings, clock: StationClock.Mode = .real, speed: Double = 1,
                    start: Date? = nil) async throws {
        var settings = settings
        settings.piles = []
        do {
            try await StationStore(pool: pool).create(id: id, name: name, settings: settings, pilePasswordHashes: [:],
                                                      clock: clock, speed: speed, start: start)
        } catch let error as PostgresError where error.code == .uniqueViolation {
            throw StoreError.stationExists
        }
    }
}

extension StationStore {
    /// The same database's station directory.
    public var directory: StationDirectory { StationDirectory(pool: pool) }
}
