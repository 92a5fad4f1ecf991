import ChargingDomain
import Foundation
import PostgresClient

/// Stations: the engine's state as rows (snapshot version 2: a header in `stations.state`, a row per
/// pile and per active request), changed only inside one transaction holding the station's advisory
/// lock, with its effects (bills, totals, frames to piles, the request rows) written in that same
/// transaction. A change writes only the rows that changed; the station this instance wrote last is
/// kept in memory and used again while `stations.state_version` says nobody wrote since.
public struct StationStore: Sendable {
    /// The first key of the two-key advisory lock; the second is the station id.
    static let lockClass: Int32 = 0x43_50  // "CP"

    let pool: PostgresPool
    private let cache = StationCache()
    let steps = StationSteps()
    /// Meter readings of many piles, stored together (group commit).
    let readings: PostgresBatcher<MeterReading>

    public init(pool: PostgresPool) {
        self.pool = pool
        readings = PostgresBatcher(pool: pool, linger: .chargerWritesLinger) { Self.storeMeterReadingsQuery(.sessions, batch: $0) }
    }

    public func stationIDs() async throws -> [Int] {
        try await pool.query("SELECT id FROM stations ORDER BY id").map { try $0.decode("id") }
    }

    /// The last meter reading of each car charging at the station: the session's energy so far (kWh) and the
    /// station time it was read, by request id.
    public func lastMeterReadings(stationID: Int) async throws -> [Int64: (energyKWh: Decimal, readAtMs: Int64)] {
        var readings: [Int64: (energyKWh: Decimal, readAtMs: Int64)] = [:]
        for row in try await pool.query("""
            SELECT id, meter_kwh, (extract(epoch FROM meter_at) * 1000)::bigint AS meter_at_ms FROM charging_requests
            WHERE station_id = \(stationID) AND state = 'charging' AND meter_kwh IS NOT NULL
            """) {
            readings[try row.decode("id")] = (try row.decode("meter_kwh"), try row.decode("meter_at_ms"))
        }
        return readings
    }

    public func stationID(ofPile pileID: Int) async throws -> Int? {
        try await pool.query("SELECT station_id FROM piles WHERE id = \(pileID)").first?.decode("station_id")
    }

    /// The reservations of the same database.
    public var reservations: ReservationStore { ReservationStore(pool: pool) }

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
                VALUES (\(id), \(name), \(try Self.json(settings))::jsonb, '{}'::jsonb, \(clock.rawValue), \(speed),
                        \(realNow), \(origin))
                """)
            for pile in settings.piles {
                guard let hash = pilePasswordHashes[pile.id] else { throw StoreError.notFound }
                try await Self.insertPile(pile, stationID: id, passwordHash: hash, secretDigest: secretDigests[pile.id], provisionedAt: origin,
                                          on: connection)
            }
            try await write(station, since: nil, stationID: id, nextEvent: nil, on: connection)
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

    /// The station as of now, for reading: readings not yet taken in and completions due by now are
    /// applied to a copy (nothing is written), so views never lag behind the ticker. A decision tried on
    /// the copy (a charger's Authorize) takes in the readings an engine step would (`.forDecisions()`),
    /// so it decides as that step will.
    public func snapshot(stationID: Int, advance: Bool = true, readings policy: Readings = .all) async throws
        -> (station: Station, clock: StationClock)? {
        try await snapshot(stationID: stationID, advance: advance, readings: policy, alongWith: []).map { ($0.station, $0.clock) }
    }

    /// The same, with the rows of `along` (read in the station's round trip, after it).
    public func snapshot(stationID: Int, advance: Bool = true, readings policy: Readings = .all, alongWith along: [PostgresQuery]) async throws
        -> (station: Station, clock: StationClock, along: [PostgresRows])? {
        guard let loaded = try await pool.withConnection({ try await load(stationID, readings: policy, on: $0, then: along) }) else { return nil }
        var station = loaded.station
        if advance {
            _ = takeIn(loaded.readings, into: &station)
            _ = station.advance(to: loaded.clock.now.instant)
        }
        return (station, loaded.clock, loaded.along)
    }

    /// The stations whose engine is behind: a completion is due, or, at a station with cars, a pile's
    /// reported status differs from the engine's (an offline pile only once its grace is over). At a
    /// station without cars no status can move anything: its engine takes the statuses in when the
    /// next car arrives (every change syncs them first). One query over the mirror columns (migration
    /// 0008), no snapshot decoded: the ticker runs it on every tick. The stations with cars are a
    /// semi-join, not `station_has_cars` per pile: after a reconnect storm every pile of a station
    /// without cars differs from its engine until the next car, and a call for each cost 90 ms a tick.
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
              AND station_id IN (SELECT station_id FROM charging_requests WHERE state IN ('waiting', 'displaced', 'queued', 'charging'))
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

    /// Which stored meter readings an engine step takes in first (each at its own station time).
    public enum Readings: Sendable {
        /// Every one: for a command that may end any session (a driver's cancel, an admin's clock).
        case all
        /// Those of the sessions the step may end by itself: completions falling due by now and cars at
        /// piles whose reported status it takes in, and `also` (a reading that completes its session).
        /// The other sessions' readings wait: a reading matters when its session is decided, so a busy
        /// station's readings are not written into the engine at every step.
        case forDecisions(also: Set<Int64> = [])

        /// What a batch of steps needs: every reading any of them needs.
        init(_ each: [Readings]) {
            var also: Set<Int64> = []
            for readings in each {
                guard case .forDecisions(let more) = readings else { self = .all; return }
                also.formUnion(more)
            }
            self = .forDecisions(also: also)
        }
    }

    /// Runs `change` on the station under its lock and persists the outcome with every effect. Before
    /// `change`, the meter readings the step needs (`readings`) are taken in, time is advanced to now
    /// and pile statuses are brought in line with the `piles` table (an offline pile counts as faulty
    /// only after `offlineGrace`). `change` may also write on the transaction's connection (a charger's
    /// transaction row with the session it starts or ends); it gets the rows of `along`, statements run
    /// just after the station's load, in its round trip. A thrown error rolls everything back.
    ///
    /// Steps of one station queued behind each other in this instance run together (`StationSteps`):
    /// in one transaction, one after another on the same station, each getting its own effects. So
    /// `along` must read only what its own step changes (its charger's card, its transaction): it runs
    /// before the steps ahead of it in the batch. And `change` may run twice: when a batch fails, each of
    /// its steps runs again alone, so that it gets its own outcome.
    public func update(
        stationID: Int, offlineGrace: Duration, setClockTo manualTime: Date? = nil, readings policy: Readings = .all,
        alongWith along: [PostgresQuery] = [],
        _ change: (inout Station, StationClock, PostgresConnection, _ along: [PostgresRows]) async throws -> [StationEffect] = { _, _, _, _ in [] },
        alsoInTransaction deliver: @Sendable ([StationEffect], StationClock, PostgresConnection) async throws -> Void
    ) async throws -> [StationEffect] {
        try await withoutActuallyEscaping(change) { change in
            try await withoutActuallyEscaping(deliver) { deliver in
                let step = StationStep(offlineGrace: offlineGrace, manualTime: manualTime, readings: policy, along: along,
                                       change: change, deliver: deliver)
                return try await steps.perform(step, stationID: stationID) { batch in await run(batch, stationID: stationID) }
            }
        }
    }

    /// Runs a batch of steps in one transaction and gives each its outcome. When that transaction fails
    /// with several steps in it, each runs again alone: the failure is then that step's own.
    private func run(_ batch: [StationStep], stationID: Int) async -> [Result<[StationEffect], any Error>] {
        do {
            return try await runTogether(batch, stationID: stationID)
        } catch {
            guard batch.count > 1 else { return [.failure(error)] }
            var outcomes: [Result<[StationEffect], any Error>] = []
            for step in batch {
                outcomes += await run([step], stationID: stationID)
            }
            return outcomes
        }
    }

    /// One transaction under the station's lock: one load, each step's change in order, one write. A step
    /// that throws without having sent anything to the database (no `along`, no statement in its change)
    /// is refused alone and its change discarded; any other error ends the whole transaction. The first
    /// step's effects include those of the station's own catching up (readings, time, statuses).
    private func runTogether(_ batch: [StationStep], stationID: Int) async throws -> [Result<[StationEffect], any Error>] {
        try await pool.withTransaction { connection -> [Result<[StationEffect], any Error>] in
            let leader = batch[0]
            var first: [PostgresQuery] = ["SELECT pg_advisory_xact_lock(\(Self.lockClass), \(Int32(stationID)))"]
            // A manual clock moves first, so the readings due by the new time come with the station.
            if let manualTime = leader.manualTime {
                first.append("UPDATE stations SET clock_station_origin = \(manualTime) WHERE id = \(stationID)")
            }
            guard let loaded = try await load(stationID, readings: Readings(batch.map(\.readings)), reportsAfter: leader.offlineGrace,
                                              on: connection, after: first, then: batch.flatMap(\.along))
            else { throw StoreError.notFound }
            let original = loaded.station
            var station = original
            let clock = loaded.clock
            var caughtUp = takeIn(loaded.readings, into: &station)
            try await markTakenIn(loaded.readings, stationID: stationID, on: connection)
            caughtUp += station.advance(to: clock.now.instant)
            let sync = apply(loaded.reports, to: &station)
            caughtUp += sync.effects
            var outcomes: [Result<[StationEffect], any Error>] = []
            var along = loaded.along[...]
            for step in batch {
                let rows = Array(along.prefix(step.along.count))
                along = along.dropFirst(step.along.count)
                let sent = connection.operationsStarted
                var changed = station
                do {
                    outcomes.append(.success(try await step.change(&changed, clock, connection, rows)))
                    station = changed
                } catch {
                    guard batch.count > 1, step.along.isEmpty, connection.operationsStarted == sent else { throw error }
                    outcomes.append(.failure(error))
                }
            }
            // What the station did by itself (readings, time, statuses) is the first step's to deliver and to
            // return, whether its own change was refused or not: its bills and instructions must not be lost.
            var stepEffects = outcomes.map { (try? $0.get()) ?? [] }
            stepEffects[0] = caughtUp + stepEffects[0] + station.advance(to: clock.now.instant)
            if case .success = outcomes[0] { outcomes[0] = .success(stepEffects[0]) }
            let nextEvent = station.nextEventTime.map(Date.init(instant:))
            if station != original || !loaded.storedAsRows {
                for (step, effects) in zip(batch, stepEffects) {
                    try await step.deliver(effects, clock, connection)
                }
                let effects = Array(stepEffects.joined())
                // The step's last statement, with the COMMIT. The station is kept before, so the next transaction
                // waiting for the lock finds it: its version is this transaction's id, which the database shows
                // only if it commits, and never again.
                cache.keep(station, version: try loaded.transactionID.orThrow(), stationID: stationID)
                _ = try await connection.commit(after: [try writeQuery(
                    station, since: loaded.storedAsRows ? original : nil, stationID: stationID, nextEvent: nextEvent,
                    reported: sync.reported, effects: effects)])
            } else {
                if loaded.nextEvent?.instant != nextEvent?.instant {
                    try await connection.execute("UPDATE stations SET next_event_at = \(nextEvent) WHERE id = \(stationID)")
                }
                try await mirrorPileStatuses(sync.reported, stationID: stationID, on: connection)
            }
            return outcomes
        }
    }

    /// What `load` read: the station (from the cache when nobody wrote it since), its clock, the readings it
    /// has not taken in, and whether it is stored as rows yet (a station of an older version is upgraded by
    /// its next write).
    struct Loaded {
        var station: Station
        var clock: StationClock
        var nextEvent: Date?
        var readings: [Reading]
        /// The statuses piles reported that the engine hasn't taken in (asked for with `reportsAfter`).
        var reports: [Int: PileReport]
        var storedAsRows: Bool
        /// The rows of the statements sent after the load (`then`).
        var along: [PostgresRows] = []
        /// This transaction's id, the version its write will give the station: asked for with the lock (`after`).
        var transactionID: Int64? = nil
    }

    /// The station's stored readings the engine has not taken in (in `load`, of station `s`).
    static let everyPendingReading = """
        SELECT c.id, c.pile_id, c.meter_kwh, c.meter_at FROM charging_requests c WHERE c.station_id = s.id AND c.meter_pending
        """

    /// Those of the cars at piles that concern a step: a reported status the engine hasn't taken in, a
    /// completion falling due by the station's time (`sc`). Each branch walks its few piles by their partial
    /// index (migrations 0008, 0010) and looks the car up through a lateral subquery with a LIMIT, so the
    /// planner does not scan every charging car of the station to join them. Two texts rather than a
    /// parameter that switches branches: PostgreSQL would plan such a statement anew at every call.
    static let pendingReadingsForDecisions = """
        SELECT c.id, c.pile_id, c.meter_kwh, c.meter_at
        FROM piles p CROSS JOIN LATERAL (\(pendingReadingAtPile)) AS c
        WHERE p.station_id = s.id AND p.engine_status IS DISTINCT FROM p.status
        UNION
        SELECT c.id, c.pile_id, c.meter_kwh, c.meter_at
        FROM piles p CROSS JOIN LATERAL (\(pendingReadingAtPile)) AS c
        WHERE p.station_id = s.id AND p.engine_completes_ms <= floor(extract(epoch FROM sc.station_now) * 1000)::bigint
        """

    private static let pendingReadingAtPile = """
        SELECT c.id, c.pile_id, c.meter_kwh, c.meter_at FROM charging_requests c
        WHERE c.pile_id = p.id AND c.station_id = p.station_id AND c.state = 'charging' AND c.meter_pending LIMIT 1
        """

    /// A meter reading stored with its request (`storeMeterReadingsQuery`) that the engine has not taken in.
    struct Reading: Decodable {
        var id: Int64
        var pile_id: Int
        /// Exact decimal text (a JSON number would pass through a Double).
        var meter_kwh: String
        var meter_at_ms: Int64

        var energyKWh: Decimal? { Decimal(string: meter_kwh, locale: Locale(identifier: "en_US_POSIX")) }
    }

    /// The station in one statement (one consistent view): the clock, and the rows only when the cached
    /// station is not the latest version. The readings an engine step takes in are found from the piles
    /// that concern it (a reported status the engine hasn't taken in, a completion falling due: two
    /// indexes, migrations 0008 and 0010), not by reading every charging car's session.
    ///
    /// `after` (the station's lock, a step's first writes) runs first, in the same round trip. Then the
    /// rows are left out: the cache can only be looked at once the lock is held (the step before this one
    /// kept its station just before it committed), and a station not found there is read again, rows and
    /// all (nobody can change it meanwhile).
    func load(_ stationID: Int, readings policy: Readings = .all, reportsAfter grace: Duration? = nil,
              on connection: PostgresConnection, after first: [PostgresQuery] = [], then along: [PostgresQuery] = []) async throws -> Loaded? {
        let cached = cache.stations(stationID)
        let cachedVersions = "{" + cached.map { String($0.version) }.joined(separator: ",") + "}"
        let withoutRows = !first.isEmpty
        let (allReadings, also): (Bool, Set<Int64>) = switch policy {
        case .all: (true, [])
        case .forDecisions(let also): (false, also)
        }
        // Which parts the statement has is in its text, its values in `given`: PostgreSQL plans a prepared
        // statement once (a generic plan) only when that plan costs no more than one made for the values at
        // hand, and a plan that folds a parameter's CASE away always does; with the switches in parameters it
        // planned this statement at every call (0.2-0.3 ms, about a tenth of the database's time on a charging day).
        let rowsColumns = withoutRows ? "NULL::text AS header, NULL::text AS piles, NULL::text AS requests" : """
            CASE WHEN s.state_version = ANY(given.cached_versions) THEN NULL ELSE s.state::text END AS header,
            CASE WHEN s.state_version = ANY(given.cached_versions) THEN NULL ELSE
                (SELECT coalesce(jsonb_agg(p.engine_state), '[]') FROM piles p
                 WHERE p.station_id = s.id AND p.engine_state IS NOT NULL)::text END AS piles,
            CASE WHEN s.state_version = ANY(given.cached_versions) THEN NULL ELSE
                (SELECT coalesce(jsonb_agg(c.engine_state), '[]') FROM charging_requests c
                 WHERE c.station_id = s.id AND c.engine_state IS NOT NULL)::text END AS requests
            """
        let reportsColumn = grace == nil ? "NULL::text AS reports" : """
            (SELECT jsonb_agg(jsonb_build_object('id', p.id, 'status', p.status,
                                                 'offline_at_ms', (extract(epoch FROM p.offline_station_at) * 1000)::bigint)
                              ORDER BY p.id)
             FROM piles p
             WHERE p.station_id = s.id AND p.engine_status IS DISTINCT FROM p.status
               AND NOT (p.status = 'offline' AND p.status_changed_at > now() - make_interval(secs => given.offline_grace)))::text AS reports
            """
        let query: PostgresQuery = """
            SELECT s.state_version, s.next_event_at, s.clock_mode, s.clock_speed, s.clock_real_origin, s.clock_station_origin,
                   now() AS real_now, \(unsafeRaw: withoutRows ? "txid_current()" : "NULL::bigint") AS transaction_id,
                   \(unsafeRaw: rowsColumns),
                   (SELECT jsonb_agg(jsonb_build_object('id', r.id, 'pile_id', r.pile_id, 'meter_kwh', r.meter_kwh::text,
                                                        'meter_at_ms', (extract(epoch FROM r.meter_at) * 1000)::bigint)
                                     ORDER BY r.meter_at, r.id)
                    FROM (\(unsafeRaw: allReadings ? Self.everyPendingReading : Self.pendingReadingsForDecisions)
                          UNION
                          SELECT c.id, c.pile_id, c.meter_kwh, c.meter_at FROM charging_requests c
                          WHERE c.station_id = s.id AND c.id = ANY(given.also) AND c.meter_pending
                         ) AS r
                   )::text AS readings,
                   \(unsafeRaw: reportsColumn)
            FROM stations s JOIN station_clock sc ON sc.station_id = s.id
                 CROSS JOIN (SELECT \(cachedVersions)::bigint[] AS cached_versions, \((grace ?? .zero).inSeconds)::float8 AS offline_grace,
                                    \("{" + also.map(String.init).joined(separator: ",") + "}")::bigint[] AS also) AS given
            WHERE s.id = \(stationID)
            """
        let results = first.isEmpty && along.isEmpty ? [try await connection.query(query)] : try await connection.pipeline(first + [query] + along)
        let alongRows = Array(results.suffix(along.count))
        guard let row = results[first.count].first else { return nil }
        let clock = try Self.clock(row)
        let nextEvent: Date? = try row.decode("next_event_at")
        let transactionID: Int64? = try row.decode("transaction_id")
        let readings = try (row.decode("readings", as: String?.self)).map { try JSONDecoder().decode([Reading].self, from: Data($0.utf8)) } ?? []
        var reports: [Int: PileReport] = [:]
        for report in try (row.decode("reports", as: String?.self)).map({ try JSONDecoder().decode([PileReport].self, from: Data($0.utf8)) }) ?? [] {
            reports[report.id] = report
        }
        guard let header = try row.decode("header", as: String?.self) else {
            let version: Int64 = try row.decode("state_version")
            let kept = withoutRows ? cache.stations(stationID) : cached
            guard let station = kept.first(where: { $0.version == version })?.station else {
                guard withoutRows else { throw StoreError.notFound }  // not reached: rows are left out only for a version kept here
                var reloaded = try await load(stationID, readings: policy, reportsAfter: grace, on: connection)
                reloaded?.along = alongRows
                reloaded?.transactionID = transactionID
                return reloaded
            }
            return Loaded(station: station, clock: clock, nextEvent: nextEvent, readings: readings, reports: reports, storedAsRows: true,
                          along: alongRows, transactionID: transactionID)
        }
        let data = Data(header.utf8)
        guard try StationSnapshot.storedVersion(of: data) == StationSnapshot.rowsVersion else {
            return Loaded(station: try StationSnapshot.decodeStation(from: data), clock: clock, nextEvent: nextEvent, readings: readings,
                          reports: reports, storedAsRows: false, along: alongRows, transactionID: transactionID)
        }
        let station = try StationSnapshot.assemble(header: data, piles: Data(try row.decode("piles", as: String.self).utf8),
                                                   requests: Data(try row.decode("requests", as: String.self).utf8))
        cache.keep(station, version: try row.decode("state_version"), stationID: stationID)
        return Loaded(station: station, clock: clock, nextEvent: nextEvent, readings: readings, reports: reports, storedAsRows: true,
                      along: alongRows, transactionID: transactionID)
    }

    /// Takes the stored readings into the engine, in the order they were taken; one that no longer fits
    /// (its session ended meanwhile) is dropped, as the pile's reading of a session that is over.
    func takeIn(_ readings: [Reading], into station: inout Station) -> [StationEffect] {
        var effects: [StationEffect] = []
        for reading in readings {
            guard let energyKWh = reading.energyKWh else { continue }
            let command = StationCommand.meter(pileID: reading.pile_id, requestID: reading.id, energyKWh: energyKWh,
                                               readAt: reading.meter_at_ms)
            effects += (try? station.apply(command, at: max(station.now, reading.meter_at_ms))) ?? []
        }
        return effects
    }

    private func markTakenIn(_ readings: [Reading], stationID: Int, on connection: PostgresConnection) async throws {
        guard !readings.isEmpty else { return }
        let taken = try Self.json(readings.map { ["id": "\($0.id)", "kwh": "\($0.meter_kwh)"] })
        // A reading stored since this transaction read them stays pending.
        try await connection.execute("""
            UPDATE charging_requests c SET meter_pending = false
            FROM batch_rows(\(taken)::jsonb) AS element, jsonb_to_record(element) AS t(id bigint, kwh numeric)
            WHERE c.station_id = \(stationID) AND c.id = t.id AND c.meter_kwh = t.kwh
            """)
    }

    /// Writes what changed since `original` (nil: everything, for a new station or one stored in an older
    /// version) with the step's bills, in one statement: the header, the changed pile rows with the engine's
    /// status mirrored beside the reported one and the bills added to their totals, the changed request
    /// rows, the departed requests' rows closed, the bills. The new `state_version` is this transaction's id
    /// (unique, so a version kept by a transaction that then rolled back can never match a later one). One
    /// statement rather than one per table: an engine step runs at every charger's StartTransaction and
    /// StopTransaction, and each statement costs a round trip and its executor's setup.
    func write(_ station: Station, since original: Station?, stationID: Int, nextEvent: Date?, on connection: PostgresConnection) async throws {
        _ = try await connection.query(writeQuery(station, since: original, stationID: stationID, nextEvent: nextEvent))
    }

    /// `write`'s statement, which returns the new `state_version`.
    func writeQuery(_ station: Station, since original: Station?, stationID: Int, nextEvent: Date?, reported: [Int: PileStatus] = [:],
                    effects: [StationEffect] = []) throws -> PostgresQuery {
        let rows = try StationSnapshot.rows(of: station, since: original)
        var piles = try rows.piles.map { PileStateStore.EngineRow(id: $0.id, status: try station.pileStatus($0.id).orThrow(), state: $0.state) }
        var written = Set(piles.map(\.id))
        for (pileID, status) in station.pileStatusChanges(since: original) where written.insert(pileID).inserted {
            piles.append(.init(id: pileID, status: status, state: nil))
        }
        for pileID in reported.keys.sorted() where written.insert(pileID).inserted {
            piles.append(.init(id: pileID, status: try station.pileStatus(pileID).orThrow(), state: nil))
        }
        let bills = effects.compactMap { effect -> Bill? in if case .billed(let bill) = effect { bill } else { nil } }
        for bill in bills {
            if written.insert(bill.pileID).inserted {
                piles.append(.init(id: bill.pileID, status: try station.pileStatus(bill.pileID).orThrow(), state: nil))
            }
            let index = piles.firstIndex { $0.id == bill.pileID }!
            piles[index].sessions += 1
            piles[index].kwh += bill.energyKWh
            piles[index].seconds += Decimal(bill.durationMs) / 1000
        }
        let projection = RequestProjection(station: station)
        let requests = try projection.upserts(since: original, engineRows: Dictionary(uniqueKeysWithValues: rows.requests.map { ($0.id, $0.state) }))
        let departures = try projection.departures(effects, departed: rows.departed)
        let billRows = try Self.billRowsJSON(bills)
        // Only the parts with rows: a StartTransaction writes no bill and no departure, and every part costs
        // its executor's setup even when it writes nothing.
        var parts = ["""
            header AS (
                UPDATE stations SET state = coalesce(input.header, stations.state), state_version = txid_current(),
                                    next_event_at = input.next_event_at, updated_at = now()
                FROM input WHERE stations.id = input.station_id
                RETURNING stations.state_version
            )
            """]
        if !piles.isEmpty { parts.append("piles_written AS (\(PileStateStore.engineMirrorSQL))") }
        if departures != nil { parts.append("departed AS (\(RequestProjection.departuresSQL))") }
        if requests != nil { parts.append("requests_written AS (\(RequestProjection.upsertsSQL(afterDepartures: departures != nil)))") }
        if billRows != nil { parts.append("bills_written AS (\(Self.billsSQL))") }
        return """
            WITH input AS MATERIALIZED (
                SELECT \(stationID)::integer AS station_id, \(rows.header.map { String(decoding: $0, as: UTF8.self) })::jsonb AS header,
                       \(nextEvent)::timestamptz AS next_event_at, \(PileStateStore.engineRowsJSON(piles))::jsonb AS piles,
                       \(requests)::jsonb AS requests, \(departures)::jsonb AS departures, \(Date(instant: station.now))::timestamptz AS ended_at,
                       \(billRows)::jsonb AS bills
            ),
            \(unsafeRaw: parts.joined(separator: ",\n"))
            SELECT state_version FROM header
            """
    }

    /// A bill's row (`billsSQL`): times and amounts as the text their parameters would carry, `n` its order.
    private struct BillRow: Encodable {
        var n: Int
        var request_id: Int64
        var driver: String
        var pile_id: Int
        var energy_kwh: String
        var duration_ms: Int64
        var started_at: String
        var finished_at: String
        var charging_fee: String
        var service_fee: String
        var total_fee: String
        var ended_by: String
    }

    /// The bills as a JSON array (nil: none).
    private static func billRowsJSON(_ bills: [Bill]) throws -> String? {
        guard !bills.isEmpty else { return nil }
        let rows = bills.enumerated().map { n, bill in
            BillRow(n: n, request_id: bill.requestID, driver: bill.driver, pile_id: bill.pileID, energy_kwh: bill.energyKWh.description,
                    duration_ms: bill.durationMs,
                    started_at: Date(instant: bill.startedAt).postgresText!, finished_at: Date(instant: bill.finishedAt).postgresText!,
                    charging_fee: bill.chargingFee.description, service_fee: bill.serviceFee.description,
                    total_fee: bill.totalFee.description, ended_by: bill.endedBy.rawValue)
        }
        return String(decoding: try JSONEncoder().encode(rows), as: UTF8.self)
    }

    /// A detail record is created when its session ends, in station time (like every time the driver sees);
    /// the pile's totals follow in `PileStateStore.engineMirrorSQL`. Reads `input.station_id` and `input.bills`.
    private static let billsSQL = """
        INSERT INTO bills (station_id, request_id, driver_id, pile_id, energy_kwh, duration_ms, started_at, finished_at,
                           charging_fee, service_fee, total_fee, ended_by, created_at)
        SELECT input.station_id, b.request_id, d.id, b.pile_id, b.energy_kwh, b.duration_ms, b.started_at, b.finished_at,
               b.charging_fee, b.service_fee, b.total_fee, b.ended_by, b.finished_at
        FROM input
        CROSS JOIN LATERAL batch_rows(input.bills) AS element
        CROSS JOIN LATERAL jsonb_to_record(element) AS b(n integer, request_id bigint, driver text, pile_id integer, energy_kwh numeric,
                                                         duration_ms bigint, started_at timestamptz, finished_at timestamptz, charging_fee numeric,
                                                         service_fee numeric, total_fee numeric, ended_by text)
        JOIN drivers d ON d.username = b.driver
        ORDER BY b.n
        """

    /// A charger's final meter reading for a session the station had already billed (it stopped the car
    /// first): the session's last bill takes that energy, spread evenly over the session for the tariff,
    /// and the pile's energy total follows. False when there is no such bill or it already says so.
    public func correctBill(stationID: Int, requestID: Int64, pileID: Int, energyKWh: Decimal) async throws -> Bool {
        try await pool.withTransaction { connection in
            _ = try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockClass), \(Int32(stationID)))")
            guard let loaded = try await load(stationID, on: connection),
                  let bill = try await connection.query("""
                      SELECT id, energy_kwh, started_at, finished_at FROM bills
                      WHERE station_id = \(stationID) AND request_id = \(requestID) AND pile_id = \(pileID) ORDER BY id DESC LIMIT 1
                      """).first
            else { return false }
            let billed: Decimal = try bill.decode("energy_kwh")
            let started: Date = try bill.decode("started_at")
            let finished: Date = try bill.decode("finished_at")
            let settings = loaded.station.settings
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

    /// The bill of a charger's offline session (`OfflineSession`), in the transaction that closes it, under
    /// the station's lock: a finished request row of its own (`requestID` from the engine's counter, so the
    /// bill is shown like any other), the bill at the metered energy over `period` (station time), the pile's
    /// totals, and the transaction linked to the request. Once per transaction (`bills.ocpp_transaction_id`).
    /// False when the idTag has no driver (an unknown card): nothing is billed.
    public static func billOfflineSession(
        transactionID: Int32, idTag: String, stationID: Int, requestID: Int64, pileID: Int, mode: ChargingMode, energyKWh: Decimal,
        from start: Date, to end: Date, fees: (chargingFee: Decimal, serviceFee: Decimal), on connection: PostgresConnection
    ) async throws -> Bool {
        let durationMs = Int64((end.timeIntervalSince(start) * 1000).rounded())
        let billed = try await connection.query("""
            WITH driver AS (
                SELECT d.id, d.battery_capacity_kwh FROM id_tags g JOIN drivers d ON d.id = g.driver_id WHERE g.id_tag = \(idTag)
            ), request AS (
                INSERT INTO charging_requests (station_id, id, driver_id, mode, queue_number, request_kwh, battery_capacity_kwh, state,
                                               submitted_at, charging_started_at, ended_at)
                SELECT \(stationID), \(requestID), driver.id, \(mode.rawValue), 'offline', greatest(\(energyKWh), 0.001),
                       driver.battery_capacity_kwh, 'finished', \(start), \(start), \(end)
                FROM driver
                RETURNING driver_id
            ), bill AS (
                INSERT INTO bills (station_id, request_id, driver_id, pile_id, energy_kwh, duration_ms, started_at, finished_at,
                                   charging_fee, service_fee, total_fee, ended_by, created_at, ocpp_transaction_id)
                SELECT \(stationID), \(requestID), request.driver_id, \(pileID), \(energyKWh), \(durationMs), \(start), \(end),
                       \(fees.chargingFee), \(fees.serviceFee), \(fees.chargingFee + fees.serviceFee), 'completed', \(end), \(transactionID)
                FROM request
                ON CONFLICT (ocpp_transaction_id) DO NOTHING
                RETURNING id
            ), totals AS (
                UPDATE piles SET total_charging_times = total_charging_times + 1,
                                 total_charging_kwh = total_charging_kwh + \(energyKWh),
                                 total_charging_seconds = total_charging_seconds + \(Decimal(durationMs) / 1000)
                WHERE id = \(pileID) AND EXISTS (SELECT 1 FROM bill)
            )
            UPDATE ocpp_transactions SET station_id = \(stationID), request_id = \(requestID)
            WHERE id = \(transactionID) AND EXISTS (SELECT 1 FROM bill)
            RETURNING id
            """)
        return !billed.isEmpty
    }

    /// A status a pile reported that the engine hasn't taken in (an offline pile in its grace is left out).
    struct PileReport: Decodable {
        var id: Int
        var status: PileStatus
        /// When it went offline, in station time (ms).
        var offline_at_ms: Int64?
    }

    /// Brings the engine in line with the reports; returns the effects and the reports it looked at.
    private func apply(_ reports: [Int: PileReport], to station: inout Station) -> (effects: [StationEffect], reported: [Int: PileStatus]) {
        var effects: [StationEffect] = []
        var reported: [Int: PileStatus] = [:]
        for (pileID, report) in reports.sorted(by: { $0.key < $1.key }) {
            let status = report.status
            reported[pileID] = status
            guard station.pileStatus(pileID) != status else { continue }
            // A pile offline past its grace: its charging car is billed up to the moment it went offline.
            let offlineSince = status == .offline ? report.offline_at_ms : nil
            let command: StationCommand = if let offlineSince {
                .pileOffline(pileID: pileID, since: offlineSince)
            } else {
                .setPileStatus(pileID: pileID, status: status)
            }
            effects += (try? station.apply(command, at: station.now)) ?? []
        }
        return (effects, reported)
    }

    /// The reports the engine looked at without changing: mirrored, so they are not looked at again.
    private func mirrorPileStatuses(_ reported: [Int: PileStatus], stationID: Int, on connection: PostgresConnection) async throws {
        try await PileStateStore.mirrorEngine(reported.sorted { $0.key < $1.key }.map { .init(id: $0.key, status: $0.value, state: nil) },
                                              stationID: stationID, on: connection)
    }

    static func clock(_ row: PostgresRow) throws -> StationClock {
        StationClock(mode: try StationClock.Mode(rawValue: row.decode("clock_mode")).orThrow(),
                     speed: try row.decode("clock_speed"), realOrigin: try row.decode("clock_real_origin"),
                     stationOrigin: try row.decode("clock_station_origin"), realNow: try row.decode("real_now"))
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
            guard let loaded = try await load(stationID, on: connection) else { throw StoreError.notFound }
            var station = loaded.station
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
            try await connection.execute("UPDATE stations SET settings = \(try Self.json(station.settings))::jsonb WHERE id = \(stationID)")
            for spec in added {
                try await Self.insertPile(spec, stationID: stationID, passwordHash: passwordHash, secretDigest: secretDigests[spec.id],
                                          provisionedAt: loaded.clock.now, on: connection)
            }
            try await write(station, since: loaded.storedAsRows ? loaded.station : nil, stationID: stationID,
                            nextEvent: station.nextEventTime.map(Date.init(instant:)), on: connection)
        }
    }

    /// A new pile row: offline until it connects. `provisionedAt` is station time (a charger's timestamp
    /// before it is implausible).
    static func insertPile(_ spec: PileSpec, stationID: Int, passwordHash: String, secretDigest: (salt: [UInt8], digest: [UInt8])? = nil,
                           provisionedAt: Date, on connection: PostgresConnection) async throws {
        do {
            try await connection.execute("""
                INSERT INTO piles (id, station_id, kind, power_kw, password_hash, secret_salt, secret_digest, provisioned_at)
                VALUES (\(spec.id), \(stationID), \(spec.mode.rawValue), \(Decimal(spec.powerWatts) / 1000), \(passwordHash),
                        \(secretDigest?.salt), \(secretDigest?.digest), \(provisionedAt))
                """)
        } catch let error as PostgresError where error.code == .uniqueViolation {
            throw StoreError.pileExists
        }
    }
}
