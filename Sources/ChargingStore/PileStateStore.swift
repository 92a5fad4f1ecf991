import ChargingDomain
import Foundation
import PostgresClient

/// The one home of a pile's state in `piles`: which instance holds its socket (fenced by an epoch:
/// the newest connection wins, and a stale owner's writes match no row), its status, and the
/// engine's view of that status (`engine_status`). Every statement that writes them is here, and
/// each write answers with the `PileStateChange` it made, which says whether the station's engine
/// must hear of it.
public struct PileStateStore: Sendable {
    let pool: PostgresPool
    /// The instance whose sockets claim and release piles through this store.
    public let instance: UUID
    /// Claims of piles for new sockets, written together (group commit) at low pool priority: a
    /// reconnect storm's thousands of connects are a few statements, behind the chargers already served.
    private let claims: PostgresBatcher<ClaimInput>
    /// StatusNotifications of many chargers, written together.
    private let connectorReports: PostgresBatcher<ConnectorReport>
    /// Our protocol's `status` frames, written together.
    private let statusReports: PostgresBatcher<StatusReport>

    /// - Parameter tellPreviousOwner: the SQL expression a claim evaluates for each pile it took from
    ///   another socket, over the columns `previous_owner`, `id` and `owner_epoch` (routing's notice to
    ///   the old owner, `PileOwnership.replacedNotice`), so that it is sent in the claiming transaction.
    public init(pool: PostgresPool, instance: UUID, tellPreviousOwner: String) {
        self.pool = pool
        self.instance = instance
        claims = PostgresBatcher(pool: pool, priority: .low) { batch in
            Self.claimPilesQuery(batch, instance: instance, tellPreviousOwner: tellPreviousOwner)
        }
        connectorReports = PostgresBatcher(pool: pool, statement: Self.recordConnectorsQuery)
        statusReports = PostgresBatcher(pool: pool, linger: .chargerWritesLinger) { batch in Self.recordStatusesQuery(batch, instance: instance) }
    }

    // MARK: Sockets

    public struct Claim: Sendable, Equatable {
        public var epoch: Int64
        public var change: PileStateChange
    }

    private struct ClaimInput: Encodable, Sendable {
        var pile_id: Int
        var claim_protocol: String
    }

    /// Takes the piles of the batch for this instance, in a new epoch; commands queued for their older
    /// sockets expire, and each pile's previous owner (another instance, or this one for an older
    /// socket) is told. The status a claim gives the pile: our protocol's pile starts `off` (seed) and
    /// is switched on by an admin; an OCPP charger reports its own status once connected, and one that
    /// reconnects (its instance died, its link dropped) keeps the status the station held for it, so a
    /// car charging there is not stopped by the reconnect itself. An input gets no row when its pile
    /// does not exist, or when the same pile came twice in the batch and the other input took it.
    /// (Each CTE carries the batch's columns along, so every join is a primary-key probe: joining two
    /// CTEs would be a nested loop over both, quadratic in the batch.)
    private static func claimPilesQuery(_ batch: String, instance: UUID, tellPreviousOwner: String) -> PostgresQuery {
        """
        WITH claim AS (
            SELECT * FROM batch_rows(\(batch)::jsonb) AS element,
                jsonb_to_record(element) AS c(n integer, pile_id integer, claim_protocol text)
        ), locked AS (
            SELECT c.n, c.claim_protocol, p.id, p.status, p.owner_instance
            FROM claim c JOIN piles p ON p.id = c.pile_id ORDER BY p.id FOR UPDATE OF p
        ), claimed AS (
            UPDATE piles p SET owner_instance = \(instance), owner_epoch = p.owner_epoch + 1, connected_since = now(),
                               status = CASE WHEN l.claim_protocol = 'ocpp1.6' AND p.engine_status IN ('on', 'off', 'repair')
                                             THEN p.engine_status ELSE 'off' END,
                               status_changed_at = now(), protocol = l.claim_protocol
            FROM locked l
            WHERE p.id = l.id
            RETURNING l.n, p.id, p.owner_epoch, p.station_id, p.status IS DISTINCT FROM l.status AS changed,
                      l.owner_instance AS previous_owner
        ), expired AS (
            UPDATE pile_commands pc SET state = 'expired', finished_at = now(), error = 'replaced'
            FROM claimed WHERE pc.pile_id = claimed.id AND pc.state = 'pending' AND pc.owner_epoch < claimed.owner_epoch
        ), told AS (
            SELECT \(unsafeRaw: tellPreviousOwner) FROM claimed WHERE previous_owner IS NOT NULL
        )
        -- `told` is read so that it runs: a CTE that modifies nothing runs only when referenced.
        SELECT n, id, owner_epoch, station_id, changed, station_has_cars(station_id), (SELECT count(*) FROM told) AS told
        FROM claimed
        """
    }

    /// Takes the pile for a new socket on this instance (nil: no such pile); its previous owner, if any,
    /// is told in the same transaction to close its older socket.
    public func claim(pileID: Int, protocol: String) async throws -> Claim? {
        while true {
            if let row = try await claims.run(ClaimInput(pile_id: pileID, claim_protocol: `protocol`)).first {
                return Claim(epoch: try row.decode("owner_epoch"), change: try PileStateChange(row))
            }
            // Not claimed: no such pile, or two sockets of it came in one batch and the other one took it
            // (this one then takes it from that one).
            guard try await pool.query("SELECT EXISTS (SELECT 1 FROM piles WHERE id = \(pileID)) AS found").first!.decode("found")
            else { return nil }
        }
    }

    /// The socket closed: the pile goes offline unless a newer connection owns it (nil then).
    @discardableResult
    public func release(pileID: Int, epoch: Int64) async throws -> PileStateChange? {
        try await pool.query("""
            WITH before AS (SELECT id, status FROM piles WHERE id = \(pileID) FOR UPDATE)
            UPDATE piles p SET owner_instance = NULL, connected_since = NULL, status = 'offline', status_changed_at = now()
            FROM before
            WHERE p.id = before.id AND p.owner_epoch = \(epoch) AND p.owner_instance = \(instance)
            RETURNING p.id, p.station_id, before.status <> 'offline' AS changed, station_has_cars(p.station_id)
            """).first.map(PileStateChange.init)
    }

    /// The piles this instance has owned in the database for longer than `age`, with their epochs
    /// (a claim younger than that may still be on its way to its socket).
    public func owned(longerThan age: Duration) async throws -> [(pileID: Int, epoch: Int64)] {
        try await pool.query("""
            SELECT id, owner_epoch FROM piles
            WHERE owner_instance = \(instance) AND connected_since < now() - make_interval(secs => \(age.inSeconds))
            """).map { (try $0.decode("id"), try $0.decode("owner_epoch")) }
    }

    /// The piles of instances taken for dead go offline, in the transaction that forgets them.
    public static func dropOwners(_ instances: [UUID], on connection: PostgresConnection) async throws -> [PileStateChange] {
        let ids = "{" + instances.map(\.uuidString).joined(separator: ",") + "}"
        return try await connection.query("""
            WITH before AS (SELECT id, status FROM piles WHERE owner_instance = ANY(\(ids)::uuid[]) ORDER BY id FOR UPDATE)
            UPDATE piles p SET owner_instance = NULL, connected_since = NULL, status = 'offline', status_changed_at = now()
            FROM before WHERE p.id = before.id
            RETURNING p.id, p.station_id, before.status <> 'offline' AS changed, station_has_cars(p.station_id)
            """).map(PileStateChange.init)
    }

    // MARK: Statuses

    /// The pile's own status button; nil (refused) when a newer socket holds the pile.
    public func recordStatus(pileID: Int, epoch: Int64, status: PileStatus) async throws -> PileStateChange? {
        try await statusReports.run(StatusReport(pile_id: pileID, epoch: epoch, status: status.rawValue)).first.map(PileStateChange.init)
    }

    private struct StatusReport: Encodable, Sendable {
        var pile_id: Int, epoch: Int64, status: String
    }

    /// The owner is checked on the locked rows, not in the join with `piles`: there, right after a storm
    /// of claims (statistics not yet analysed), the planner took the index of owned piles for one row
    /// and scanned all 10,000 for each report.
    private static func recordStatusesQuery(_ batch: String, instance: UUID) -> PostgresQuery {
        """
        WITH report AS (
            SELECT * FROM batch_rows(\(batch)::jsonb) AS element, jsonb_to_record(element) AS r(n integer, pile_id integer, epoch bigint, status text)
        ), before AS (
            SELECT r.n, r.status AS reported, p.id, p.status, p.owner_instance
            FROM report r JOIN piles p ON p.id = r.pile_id AND p.owner_epoch = r.epoch
            ORDER BY p.id FOR UPDATE OF p
        )
        UPDATE piles p SET status = b.reported, status_changed_at = now()
        FROM before b
        WHERE p.id = b.id AND b.owner_instance = \(instance)
        RETURNING b.n, p.id, p.station_id, b.status <> p.status AS changed,
                  CASE WHEN b.status <> p.status THEN station_has_cars(p.station_id) ELSE false END AS station_has_cars
        """
    }

    /// An OCPP StatusNotification: the connector's report is kept as sent, and the pile's status follows
    /// `status`, except that a pile an admin put under repair stays `repair` when it reports Unavailable
    /// (an admin's repair is Inoperative plus our repair state; a repair that came from the charger's
    /// own Faulted ends with its next report). Nil when a newer socket holds the pile.
    public func recordConnector(
        pileID: Int, epoch: Int64, connectorStatus: String, errorCode: String, info: String?, status: PileStatus
    ) async throws -> PileStateChange? {
        let report = ConnectorReport(pile_id: pileID, epoch: epoch, connector_status: connectorStatus, connector_error: errorCode,
                                     connector_info: info, status: status.rawValue)
        return try await connectorReports.run(report).first.map(PileStateChange.init)
    }

    private struct ConnectorReport: Encodable, Sendable {
        var pile_id: Int, epoch: Int64, connector_status: String, connector_error: String, connector_info: String?, status: String
    }

    private static func recordConnectorsQuery(_ batch: String) -> PostgresQuery {
        """
        WITH report AS (
            SELECT * FROM batch_rows(\(batch)::jsonb) AS element,
                jsonb_to_record(element) AS r(n integer, pile_id integer, epoch bigint, connector_status text, connector_error text, connector_info text, status text)
        ), before AS (
            SELECT r.*, p.status AS status_before FROM report r JOIN piles p ON p.id = r.pile_id AND p.owner_epoch = r.epoch
            ORDER BY p.id FOR UPDATE OF p
        )
        UPDATE piles p SET connector_status = b.connector_status, connector_error = b.connector_error, connector_info = b.connector_info,
                           connector_reported_at = now(),
                           status = CASE WHEN b.status = 'off' AND p.status = 'repair' AND p.connector_status IS DISTINCT FROM 'Faulted'
                                         THEN 'repair' ELSE b.status END,
                           status_changed_at = CASE WHEN p.status = b.status THEN p.status_changed_at ELSE now() END
        FROM before b
        WHERE p.id = b.pile_id
        RETURNING b.n, p.id, p.status <> b.status_before AS changed, p.station_id,
                  CASE WHEN p.status <> b.status_before THEN station_has_cars(p.station_id) ELSE false END AS station_has_cars
        """
    }

    // MARK: The engine's view

    /// A pile row of an engine step: the engine's status of a pile it changed or looked at
    /// (`engine_status`), its engine row when that changed (`engine_state`; nil keeps the row), and what
    /// the step's bills add to the pile's totals.
    struct EngineRow {
        var id: Int
        var status: String
        /// The engine row's JSON, inlined by `engineRowsJSON`.
        var state: Data?
        var sessions = 0
        var kwh: Decimal = 0
        var seconds: Decimal = 0

        init(id: Int, status: PileStatus, state: Data?) {
            self.id = id
            self.status = status.rawValue
            self.state = state
        }
    }

    /// The rows of `EngineRow`s, as the JSON array `engineMirrorSQL` reads (an engine row inlined as JSON).
    static func engineRowsJSON(_ piles: [EngineRow]) -> String {
        "[" + piles.map { pile in
            #"{"id":\#(pile.id),"status":"\#(pile.status)","state":\#(pile.state.map { String(decoding: $0, as: UTF8.self) } ?? "null"),"#
                + #""sessions":\#(pile.sessions),"kwh":\#(pile.kwh),"seconds":\#(pile.seconds)}"#
        }.joined(separator: ",") + "]"
    }

    /// The engine's view written into `piles`, as one data-modifying CTE of the engine step's statement
    /// (`StationStore.write`): it reads `input.station_id` and `input.piles` (`engineRowsJSON`).
    static let engineMirrorSQL = """
        UPDATE piles SET engine_state = coalesce(m.state, piles.engine_state), engine_status = m.status,
                         total_charging_times = piles.total_charging_times + m.sessions,
                         total_charging_kwh = piles.total_charging_kwh + m.kwh,
                         total_charging_seconds = piles.total_charging_seconds + m.seconds
        FROM input, batch_rows(input.piles) AS element,
             jsonb_to_record(element) AS m(id integer, status text, state jsonb, sessions integer, kwh numeric, seconds numeric)
        WHERE piles.id = m.id AND piles.station_id = input.station_id
        """

    /// The engine's status of piles it looked at without changing anything else (a step that changed
    /// nothing of the station), on its own.
    static func mirrorEngine(_ piles: [EngineRow], stationID: Int, on connection: PostgresConnection) async throws {
        guard !piles.isEmpty else { return }
        try await connection.execute("""
            WITH input AS (SELECT \(stationID)::integer AS station_id, \(engineRowsJSON(piles))::jsonb AS piles)
            \(unsafeRaw: engineMirrorSQL)
            """)
    }
}

/// What a write did to a pile's status, and whether the station's engine must hear of it now.
public struct PileStateChange: Sendable, Equatable {
    public var pileID: Int
    public var stationID: Int
    public var statusChanged: Bool
    /// Whether the station has cars (waiting, queued or charging: `station_has_cars`, migration 0008). A
    /// report that changed no status does not ask (false): a charging day's StatusNotifications change none.
    public var stationHasCars: Bool

    public init(pileID: Int, stationID: Int, statusChanged: Bool, stationHasCars: Bool) {
        self.pileID = pileID
        self.stationID = stationID
        self.statusChanged = statusChanged
        self.stationHasCars = stationHasCars
    }

    /// A new status can move cars only at a station that has some; a station without cars takes the
    /// statuses in when its next car arrives (every engine step syncs them first).
    public var engineMustHear: Bool { statusChanged && stationHasCars }

    init(_ row: PostgresRow) throws {
        self.init(pileID: try row.decode("id"), stationID: try row.decode("station_id"), statusChanged: try row.decode("changed"),
                  stationHasCars: try row.decode("station_has_cars"))
    }
}
