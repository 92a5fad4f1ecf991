import ChargingDomain
import Foundation
import PostgresClient

/// Stations: the engine's state as a JSON snapshot, changed only inside one transaction
/// holding the station's advisory lock, with its effects (bills, totals, frames to piles,
/// the request rows) written in that same transaction.
public struct StationStore: Sendable {
    /// The first key of the two-key advisory lock; the second is the station id.
    static let lockClass: Int32 = 0x43_50  // "CP"

    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    public func stationIDs() async throws -> [Int] {
        try await pool.query("SELECT id FROM stations ORDER BY id").map { try $0.decode("id") }
    }

    public func stationID(ofPile pileID: Int) async throws -> Int? {
        try await pool.query("SELECT station_id FROM piles WHERE id = \(pileID)").first?.decode("station_id")
    }

    /// Creates a station and its piles (all offline until they connect).
    public func create(id: Int, name: String, settings: StationSettings, pilePasswordHashes: [Int: String],
                       secretDigests: [Int: (salt: [UInt8], digest: [UInt8])] = [:], clock: StationClock.Mode = .real,
                       speed: Double = 1, start: Date? = nil) async throws {
        try await pool.withTransaction { connection in
            let realNow: Date = try await connection.query("SELECT now() AS now").first!.decode("now")
            let origin = start ?? realNow
            let station = Station(settings: settings, now: origin.instant)
            try await connection.execute("""
                INSERT INTO stations (id, name, settings, state, clock_mode, clock_speed, clock_real_origin, clock_station_origin)
                VALUES (\(id), \(name), \(try Self.json(settings))::jsonb, \(try Self.stateJSON(station))::jsonb, \(clock.rawValue), \(speed),
                        \(realNow), \(origin))
                """)
            for pile in settings.piles {
                guard let hash = pilePasswordHashes[pile.id] else { throw StoreError.notFound }
                try await Self.insertPile(pile, stationID: id, passwordHash: hash, secretDigest: secretDigests[pile.id], on: connection)
            }
        }
    }

    /// Resets the station clock; station time continues from `start` (or from now).
    public func setClock(stationID: Int, mode: StationClock.Mode, speed: Double, start: Date?) async throws {
        try await pool.execute("""
            UPDATE stations SET clock_mode = \(mode.rawValue), clock_speed = \(speed), clock_real_origin = now(),
                                clock_station_origin = coalesce(\(start), now())
            WHERE id = \(stationID)
            """)
    }

    /// The station as of now, for reading: completions due by now are applied to a copy
    /// (nothing is written), so views never lag behind the ticker.
    public func snapshot(stationID: Int, advance: Bool = true) async throws -> (station: Station, clock: StationClock)? {
        guard let row = try await pool.query(Self.stationQuery(stationID)).first else { return nil }
        var (station, clock) = try Self.decodeStation(row)
        if advance { _ = station.advance(to: clock.now.instant) }
        return (station, clock)
    }

    /// The stations whose engine is behind: a completion is due, or, at a station with cars, a pile's
    /// reported status differs from the engine's (an offline pile only once its grace is over). At a
    /// station without cars no status can move anything: its engine takes the statuses in when the
    /// next car arrives (every change syncs them first). One query over the mirror columns (migration
    /// 0008), no snapshot decoded: the ticker runs it on every tick.
    public func stationsBehind(offlineGrace: Duration) async throws -> [Int] {
        try await pool.query("""
            SELECT id FROM stations
            WHERE next_event_at <= CASE clock_mode WHEN 'real' THEN now()
                                                   WHEN 'scaled' THEN clock_station_origin + (now() - clock_real_origin) * clock_speed
                                                   ELSE clock_station_origin END
            UNION
            SELECT station_id FROM piles
            WHERE engine_status IS DISTINCT FROM status
              AND NOT (status = 'offline' AND status_changed_at > now() - make_interval(secs => \(offlineGrace.inSeconds)))
              AND station_has_cars(station_id)
            ORDER BY 1
            """).map { try $0.decode("id") }
    }

    /// The pile's station, and whether that station has any car (waiting, queued or charging): without
    /// one, a pile's status change cannot change the schedule.
    public func stationOfPile(_ pileID: Int) async throws -> (stationID: Int, hasCars: Bool)? {
        guard let row = try await pool.query("SELECT station_id, station_has_cars(station_id) AS has_cars FROM piles WHERE id = \(pileID)").first
        else { return nil }
        return (try row.decode("station_id"), try row.decode("has_cars"))
    }

    /// Runs `change` on the station under its lock and persists the outcome with every effect. Before
    /// `change`, time is advanced to now and pile statuses are brought in line with
    /// the `piles` table (an offline pile counts as faulty only after `offlineGrace`).
    /// A thrown error rolls everything back.
    public func update(
        stationID: Int, offlineGrace: Duration, setClockTo manualTime: Date? = nil,
        _ change: @Sendable (inout Station, StationClock) throws -> [StationEffect] = { _, _ in [] },
        alsoInTransaction deliver: @Sendable ([StationEffect], PostgresConnection) async throws -> Void
    ) async throws -> [StationEffect] {
        try await pool.withTransaction { connection in
            _ = try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockClass), \(Int32(stationID)))")
            guard let row = try await connection.query(Self.stationQuery(stationID)).first else { throw StoreError.notFound }
            let (original, loadedClock) = try Self.decodeStation(row)
            let storedNextEvent: Date? = try row.decode("next_event_at")
            var station = original
            var clock = loadedClock
            if let manualTime {
                try await connection.execute("UPDATE stations SET clock_station_origin = \(manualTime) WHERE id = \(stationID)")
                clock.now = manualTime
            }
            var effects = station.advance(to: clock.now.instant)
            let sync = try await syncPileStatuses(&station, stationID: stationID, grace: offlineGrace, on: connection)
            effects += sync.effects
            effects += try change(&station, clock)
            effects += station.advance(to: clock.now.instant)
            let nextEvent = station.nextEventTime.map(Date.init(instant:))
            if station != original {
                try await connection.execute("""
                    UPDATE stations SET state = \(try Self.stateJSON(station))::jsonb, next_event_at = \(nextEvent), updated_at = now()
                    WHERE id = \(stationID)
                    """)
                let projection = RequestProjection(station: station, stationID: stationID)
                try await projection.write(since: original, on: connection)
                for case .billed(let bill) in effects { try await insert(bill, stationID: stationID, on: connection) }
                try await projection.recordDepartures(effects, on: connection)
                try await deliver(effects, connection)
            } else if storedNextEvent?.instant != nextEvent?.instant {
                try await connection.execute("UPDATE stations SET next_event_at = \(nextEvent) WHERE id = \(stationID)")
            }
            try await mirrorPileStatuses(of: station, since: original, reported: sync.reported, stationID: stationID, on: connection)
            return effects
        }
    }

    /// A charger's final meter reading for a session the station had already billed (it stopped the car
    /// first): the session's last bill takes that energy, spread evenly over the session for the tariff,
    /// and the pile's energy total follows. False when there is no such bill or it already says so.
    public func correctBill(stationID: Int, requestID: Int64, pileID: Int, energyKWh: Decimal) async throws -> Bool {
        try await pool.withTransaction { connection in
            _ = try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockClass), \(Int32(stationID)))")
            guard let stationRow = try await connection.query(Self.stationQuery(stationID)).first,
                  let bill = try await connection.query("""
                      SELECT id, energy_kwh, started_at, finished_at FROM bills
                      WHERE station_id = \(stationID) AND request_id = \(requestID) AND pile_id = \(pileID) ORDER BY id DESC LIMIT 1
                      """).first
            else { return false }
            let billed: Decimal = try bill.decode("energy_kwh")
            let started: Date = try bill.decode("started_at")
            let finished: Date = try bill.decode("finished_at")
            let settings = try Self.decodeStation(stationRow).0.settings
            guard abs(billed - energyKWh) >= Decimal(string: "0.001")!,
                  let fees = settings.billFees(energyKWh: energyKWh, from: started.instant, to: finished.instant)
            else { return false }
            // The charger's figure is taken only if the pile could have delivered it in the session's time.
            if let power = settings.piles.first(where: { $0.id == pileID })?.powerWatts,
               !(Energy(kWh: energyKWh).map { MeterPlausibility.allows($0, powerWatts: power, during: finished.instant - started.instant) } ?? false) {
                try await connection.execute(Self.meterRefusalQuery(
                    stationID: stationID, pileID: pileID, requestID: requestID, energyKWh: energyKWh, reason: "implausible",
                    source: .ocppStop, message: StationError.implausibleMeterReading.message))
                return false
            }
            try await connection.execute("""
                UPDATE bills SET energy_kwh = \(energyKWh), charging_fee = \(fees.chargingFee), service_fee = \(fees.serviceFee),
                                 total_fee = \(fees.chargingFee + fees.serviceFee)
                WHERE id = \(try bill.decode("id", as: Int64.self))
                """)
            try await connection.execute("""
                UPDATE piles SET total_charging_kwh = total_charging_kwh + \(energyKWh - billed) WHERE id = \(pileID)
                """)
            return true
        }
    }

    /// Brings the engine in line with the statuses piles reported that it has not taken in yet (the
    /// mirror says which); returns the effects and those reports (an offline pile in its grace is left).
    private func syncPileStatuses(_ station: inout Station, stationID: Int, grace: Duration,
                                  on connection: PostgresConnection) async throws -> (effects: [StationEffect], reported: [Int: PileStatus]) {
        let rows = try await connection.query("""
            SELECT id, status, status = 'offline' AND status_changed_at > now() - make_interval(secs => \(grace.inSeconds)) AS in_grace,
                   offline_station_at
            FROM piles WHERE station_id = \(stationID) AND engine_status IS DISTINCT FROM status ORDER BY id
            """)
        var effects: [StationEffect] = []
        var reported: [Int: PileStatus] = [:]
        for row in rows {
            let pileID: Int = try row.decode("id")
            guard let status = PileStatus(rawValue: try row.decode("status")), try !row.decode("in_grace", as: Bool.self) else { continue }
            reported[pileID] = status
            guard station.pileStatus(pileID) != status else { continue }
            // A pile offline past its grace: its charging car is billed up to the moment it went offline.
            let offlineAt: Date? = try row.decode("offline_station_at")
            let offlineSince = status == .offline ? offlineAt : nil
            let command: StationCommand = if let offlineSince {
                .pileOffline(pileID: pileID, since: offlineSince.instant)
            } else {
                .setPileStatus(pileID: pileID, status: status)
            }
            effects += (try? station.apply(command, at: station.now)) ?? []
        }
        return (effects, reported)
    }

    /// Keeps `piles.engine_status` equal to the engine's status of each pile: the piles whose status the
    /// engine changed, and those whose report it just looked at (a pile the engine doesn't know keeps its
    /// report, so it is not looked at again).
    private func mirrorPileStatuses(of station: Station, since original: Station, reported: [Int: PileStatus], stationID: Int,
                                    on connection: PostgresConnection) async throws {
        var mirrored = reported
        let before = original.pileStatuses
        for (pileID, status) in station.pileStatuses where reported[pileID] != nil || status != before[pileID] {
            mirrored[pileID] = status
        }
        guard !mirrored.isEmpty else { return }
        let ids = "{" + mirrored.keys.map(String.init).joined(separator: ",") + "}"
        let statuses = "{" + mirrored.keys.map { mirrored[$0]!.rawValue }.joined(separator: ",") + "}"
        try await connection.execute("""
            UPDATE piles SET engine_status = mirror.status
            FROM unnest(\(ids)::integer[], \(statuses)::text[]) AS mirror(id, status)
            WHERE piles.id = mirror.id AND piles.station_id = \(stationID)
            """)
    }

    /// A detail record is created when its session ends, in station time (like every time the driver sees).
    private func insert(_ bill: Bill, stationID: Int, on connection: PostgresConnection) async throws {
        let seconds = Decimal(bill.durationMs) / 1000
        try await connection.execute("""
            INSERT INTO bills (station_id, request_id, driver_id, pile_id, energy_kwh, duration_ms, started_at, finished_at,
                               charging_fee, service_fee, total_fee, ended_by, created_at)
            SELECT \(stationID), \(bill.requestID), d.id, \(bill.pileID), \(bill.energyKWh), \(bill.durationMs),
                   \(Date(instant: bill.startedAt)), \(Date(instant: bill.finishedAt)),
                   \(bill.chargingFee), \(bill.serviceFee), \(bill.totalFee), \(bill.endedBy.rawValue),
                   \(Date(instant: bill.finishedAt))
            FROM drivers d WHERE d.username = \(bill.driver)
            """)
        try await connection.execute("""
            UPDATE piles SET total_charging_times = total_charging_times + 1,
                             total_charging_kwh = total_charging_kwh + \(bill.energyKWh),
                             total_charging_seconds = total_charging_seconds + \(seconds)
            WHERE id = \(bill.pileID)
            """)
    }

    /// The snapshot and the clock columns of one station, with the database's time.
    static func stationQuery(_ stationID: Int) -> PostgresQuery {
        """
        SELECT state, next_event_at, clock_mode, clock_speed, clock_real_origin, clock_station_origin, now() AS real_now
        FROM stations WHERE id = \(stationID)
        """
    }

    static func decodeStation(_ row: PostgresRow) throws -> (Station, StationClock) {
        let station = try StationSnapshot.decodeStation(from: Data(try row.decode("state", as: String.self).utf8))
        return (station, try clock(row))
    }

    static func clock(_ row: PostgresRow) throws -> StationClock {
        StationClock(mode: try StationClock.Mode(rawValue: row.decode("clock_mode")).orThrow(),
                     speed: try row.decode("clock_speed"), realOrigin: try row.decode("clock_real_origin"),
                     stationOrigin: try row.decode("clock_station_origin"), realNow: try row.decode("real_now"))
    }

    /// The stored form of a station: `StationSnapshot`, the current version.
    static func stateJSON(_ station: Station) throws -> String {
        String(decoding: try StationSnapshot.encode(station), as: UTF8.self)
    }

    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

extension StationStore {
    /// Provisions a pile: a new id joins the station (and its engine); an existing id gets
    /// the new password. A station that doesn't exist yet is created with the standard
    /// settings and just this pile.
    public func addPile(_ spec: PileSpec, stationID: Int, passwordHash: String) async throws {
        try await addPiles([spec], stationID: stationID, passwordHash: passwordHash)
    }

    /// Provisions piles in one transaction (a site commissioned at once): new ids join the station and
    /// its engine, existing ids get the new password. A station that doesn't exist yet is created
    /// with the standard settings and just these piles. `secretDigests` (migration 0007) are written
    /// with the rows, so each pile is written once.
    public func addPiles(_ specs: [PileSpec], stationID: Int, passwordHash: String,
                         secretDigests: [Int: (salt: [UInt8], digest: [UInt8])] = [:]) async throws {
        guard !specs.isEmpty else { return }
        if try await pool.query("SELECT 1 FROM stations WHERE id = \(stationID)").isEmpty {
            var settings = StationSettings.standard
            settings.piles = specs
            do {
                try await create(id: stationID, name: "station \(stationID)", settings: settings,
                                 pilePasswordHashes: Dictionary(specs.map { ($0.id, passwordHash) }, uniquingKeysWith: { first, _ in first }),
                                 secretDigests: secretDigests)
                return
            } catch let error as PostgresError where error.code == .uniqueViolation {
                // Created meanwhile by another process: add the piles to it below.
            }
        }
        try await pool.withTransaction { connection in
            _ = try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockClass), \(Int32(stationID)))")
            guard let row = try await connection.query(Self.stationQuery(stationID)).first else { throw StoreError.notFound }
            var (station, _) = try Self.decodeStation(row)
            var added: [PileSpec] = []
            for spec in specs {
                let secret = secretDigests[spec.id]
                if try await connection.execute("""
                    UPDATE piles SET password_hash = \(passwordHash), secret_salt = \(secret?.salt), secret_digest = \(secret?.digest)
                    WHERE id = \(spec.id)
                    """) == 1 { continue }
                try station.addPile(spec)
                added.append(spec)
            }
            guard !added.isEmpty else { return }
            try await connection.execute("""
                UPDATE stations SET state = \(try Self.stateJSON(station))::jsonb, settings = \(try Self.json(station.settings))::jsonb
                WHERE id = \(stationID)
                """)
            for spec in added {
                try await Self.insertPile(spec, stationID: stationID, passwordHash: passwordHash, secretDigest: secretDigests[spec.id],
                                          on: connection)
            }
        }
    }

    /// A new pile row: offline until it connects.
    static func insertPile(_ spec: PileSpec, stationID: Int, passwordHash: String, secretDigest: (salt: [UInt8], digest: [UInt8])? = nil,
                           on connection: PostgresConnection) async throws {
        do {
            try await connection.execute("""
                INSERT INTO piles (id, station_id, kind, power_kw, password_hash, secret_salt, secret_digest)
                VALUES (\(spec.id), \(stationID), \(spec.mode.rawValue), \(Decimal(spec.powerWatts) / 1000), \(passwordHash),
                        \(secretDigest?.salt), \(secretDigest?.digest))
                """)
        } catch let error as PostgresError where error.code == .uniqueViolation {
            throw StoreError.pileExists
        }
    }
}
