import ChargingDomain
import Foundation
import PostgresClient

/// Which instance holds a pile's socket, fenced by an epoch: the newest connection
/// wins, and a stale owner's writes match no row.
public struct PileOwnership: Sendable {
    public struct Claim: Sendable, Equatable {
        public var epoch: Int64
        public var previousOwner: UUID?
        /// The pile's station, which the new status (`off`) concerns.
        public var station: StationOfPile
    }

    /// The station a pile's status change concerns, and whether it has cars: only then must its
    /// engine hear of the change at once (`station_has_cars`, migration 0008).
    public struct StationOfPile: Sendable, Equatable {
        public var stationID: Int
        public var hasCars: Bool

        public init(stationID: Int, hasCars: Bool) {
            self.stationID = stationID
            self.hasCars = hasCars
        }

        init(_ row: PostgresRow) throws {
            self.init(stationID: try row.decode("station_id"), hasCars: try row.decode("station_has_cars"))
        }
    }

    let pool: PostgresPool
    let instance: UUID
    /// Claims of piles nobody holds, written together (group commit): a reconnect storm's connects.
    private let freeClaims: PostgresBatcher<FreeClaim>

    public init(pool: PostgresPool, instance: UUID) {
        self.pool = pool
        self.instance = instance
        freeClaims = PostgresBatcher(pool: pool) { batch in Self.claimFreePilesQuery(batch, instance: instance) }
    }

    private struct FreeClaim: Encodable, Sendable {
        var pile_id: Int
        var `protocol`: String
    }

    /// Takes the piles of the batch that nobody holds for this instance; commands queued for their
    /// older sockets expire.
    private static func claimFreePilesQuery(_ batch: String, instance: UUID) -> PostgresQuery {
        """
        WITH claim AS (
            SELECT * FROM batch_rows(\(batch)::jsonb) AS element, jsonb_to_record(element) AS c(n integer, pile_id integer, protocol text)
        ), locked AS (
            SELECT p.id FROM piles p JOIN claim c ON p.id = c.pile_id WHERE p.owner_instance IS NULL ORDER BY p.id FOR UPDATE OF p
        ), claimed AS (
            UPDATE piles p SET owner_instance = \(instance), owner_epoch = p.owner_epoch + 1, connected_since = now(),
                               status = CASE WHEN c.protocol = 'ocpp1.6' AND p.engine_status IN ('on', 'off', 'repair')
                                             THEN p.engine_status ELSE 'off' END,
                               status_changed_at = now(), protocol = c.protocol
            FROM claim c JOIN locked ON locked.id = c.pile_id
            WHERE p.id = c.pile_id AND p.owner_instance IS NULL
            RETURNING c.n, p.id, p.owner_epoch, p.station_id
        ), expired AS (
            UPDATE pile_commands pc SET state = 'expired', finished_at = now(), error = 'replaced'
            FROM claimed WHERE pc.pile_id = claimed.id AND pc.state = 'pending' AND pc.owner_epoch < claimed.owner_epoch
        )
        SELECT n, owner_epoch, station_id, station_has_cars(station_id) FROM claimed
        """
    }

    /// Takes the pile for a new socket on this instance. Our protocol's pile starts `off` (seed) and is
    /// switched on by an admin; an OCPP charger reports its own status once connected, and one that
    /// reconnects (its instance died, its link dropped) keeps the status the station held for it, so a
    /// car charging there is not stopped by the reconnect itself. The
    /// previous owner, if any, is told to close its older socket.
    public func claim(pileID: Int, protocol: String = "chargepile") async throws -> Claim? {
        // A pile nobody holds (the usual connect, and every one of a reconnect storm): one statement, shared.
        if let row = try await freeClaims.run(FreeClaim(pile_id: pileID, protocol: `protocol`)).first {
            return Claim(epoch: try row.decode("owner_epoch"), previousOwner: nil, station: try StationOfPile(row))
        }
        return try await pool.withTransaction { connection in
            let previous = try await connection.query(
                "SELECT owner_instance FROM piles WHERE id = \(pileID) FOR UPDATE")
            guard let row = previous.first else { return nil }
            let previousOwner = try row.decode("owner_instance", as: UUID?.self)
            let claimed = try await connection.query("""
                UPDATE piles SET owner_instance = \(instance), owner_epoch = owner_epoch + 1, connected_since = now(),
                                 status = CASE WHEN \(`protocol`) = 'ocpp1.6' AND engine_status IN ('on', 'off', 'repair')
                                               THEN engine_status ELSE 'off' END,
                                 status_changed_at = now(), protocol = \(`protocol`)
                WHERE id = \(pileID) RETURNING owner_epoch, station_id, station_has_cars(station_id)
                """).first!
            let epoch: Int64 = try claimed.decode("owner_epoch")
            // Commands queued for an older socket must not fire on this one.
            try await connection.execute("""
                UPDATE pile_commands SET state = 'expired', finished_at = now(), error = 'replaced'
                WHERE pile_id = \(pileID) AND state = 'pending' AND owner_epoch < \(epoch)
                """)
            if let previousOwner {
                try await notify(previousOwner, .replaced(pileID: pileID, epoch: epoch), on: connection)
            }
            return Claim(epoch: epoch, previousOwner: previousOwner, station: try StationOfPile(claimed))
        }
    }

    /// The socket closed: the pile goes offline unless a newer connection owns it (nil then).
    @discardableResult
    public func release(pileID: Int, epoch: Int64) async throws -> StationOfPile? {
        try await pool.query("""
            UPDATE piles SET owner_instance = NULL, connected_since = NULL, status = 'offline', status_changed_at = now()
            WHERE id = \(pileID) AND owner_epoch = \(epoch) AND owner_instance = \(instance)
            RETURNING station_id, station_has_cars(station_id)
            """).first.map(StationOfPile.init)
    }

    /// The piles this instance has owned in the database for longer than `age`, with their epochs
    /// (a claim younger than that may still be on its way to its socket).
    public func owned(longerThan age: Duration) async throws -> [(pileID: Int, epoch: Int64)] {
        try await pool.query("""
            SELECT id, owner_epoch FROM piles
            WHERE owner_instance = \(instance) AND connected_since < now() - make_interval(secs => \(age.inSeconds))
            """).map { (try $0.decode("id"), try $0.decode("owner_epoch")) }
    }

    /// The pile's own status button (or a written admin command); nil (refused) when stale.
    @discardableResult
    public func recordStatus(pileID: Int, epoch: Int64, status: PileStatus) async throws -> StationOfPile? {
        try await pool.query("""
            UPDATE piles SET status = \(status.rawValue), status_changed_at = now()
            WHERE id = \(pileID) AND owner_epoch = \(epoch) AND owner_instance = \(instance)
            RETURNING station_id, station_has_cars(station_id)
            """).first.map(StationOfPile.init)
    }
}

func notify(_ instance: UUID, _ message: RoutingMessage, on connection: PostgresConnection) async throws {
    _ = try await connection.query("SELECT pg_notify(\(instanceChannel(instance)), \(message.payload))")
}
