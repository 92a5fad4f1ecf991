import ChargingDomain
import Foundation
import PostgresClient

/// Every SQL statement of the OCPP 1.6J central system: charge point identities, what chargers
/// report, idTags and transactions. Writes about a pile's socket are fenced by its epoch.
public struct OCPPStore: Sendable {
    let pool: PostgresPool
    /// BootNotifications of many chargers, written together (group commit). Boots and handshakes admit
    /// chargers: they run at low pool priority, behind the chargers already served.
    private let boots: PostgresBatcher<BootRecord>
    /// Charger handshakes' identity and throttle counters, read together.
    private let handshakeReads: PostgresBatcher<HandshakeKeys>
    /// MeterValues of many chargers, stored together.
    private let meterValues: PostgresBatcher<MeterValue>

    public init(pool: PostgresPool) {
        self.pool = pool
        boots = PostgresBatcher(pool: pool, priority: .low, statement: Self.recordBootsQuery)
        handshakeReads = PostgresBatcher(pool: pool, priority: .low, statement: Self.handshakeQuery)
        meterValues = PostgresBatcher(pool: pool, linger: .chargerWritesLinger) { StationStore.storeMeterReadingsQuery(.ocppTransactions, batch: $0) }
    }

    private struct HandshakeKeys: Encodable, Sendable {
        var ocpp_id: String, account: String, address: String, window_seconds: Double
    }

    /// The charge point of each handshake, with the live throttle counters of its account and address.
    private static func handshakeQuery(_ batch: String) -> PostgresQuery {
        """
        SELECT h.n, p.id, p.password_hash, p.secret_salt, p.secret_digest, p.security_profile,
               a.failures AS account_failures, extract(epoch FROM now() - a.last_at)::float8 AS account_since_last,
               extract(epoch FROM a.locked_until - now())::float8 AS account_locked_for,
               d.failures AS address_failures, extract(epoch FROM now() - d.last_at)::float8 AS address_since_last,
               extract(epoch FROM d.locked_until - now())::float8 AS address_locked_for
        FROM batch_rows(\(batch)::jsonb) AS element,
             jsonb_to_record(element) AS h(n integer, ocpp_id text, account text, address text, window_seconds float8)
        LEFT JOIN piles p ON p.ocpp_id = h.ocpp_id
        LEFT JOIN auth_throttle a ON a.scope = 'account' AND a.key = h.account
                                 AND (a.last_at > now() - make_interval(secs => h.window_seconds) OR a.locked_until > now())
        LEFT JOIN auth_throttle d ON d.scope = 'address' AND d.key = h.address
                                 AND (d.last_at > now() - make_interval(secs => h.window_seconds) OR d.locked_until > now())
        """
    }

    /// What a charger's handshake needs, in one read shared with the other handshakes under way: the charge
    /// point (nil: unknown) and the throttle counters of its account and address keys (`AuthStore`'s).
    public func handshake(ocppID: String, accountKey: String, addressKey: String, window: Duration) async throws
        -> (chargePoint: ChargePoint?, account: AuthStore.Counter?, address: AuthStore.Counter?) {
        guard let row = try await handshakeReads.run(HandshakeKeys(ocpp_id: ocppID, account: accountKey, address: addressKey,
                                                                   window_seconds: window.inSeconds)).first
        else { return (nil, nil, nil) }
        return (try Self.chargePoint(row), try .optional(row, prefix: "account_"), try .optional(row, prefix: "address_"))
    }

    /// A charge point's identity and how to check its secret: the bcrypt hash (the same secret as
    /// `/p/login`) and, once known, the salted SHA-256 of the secret (migration 0007).
    public struct ChargePoint: Sendable {
        public var pileID: Int
        public var credentials: Credentials
        public var secretDigest: (salt: [UInt8], digest: [UInt8])?
        /// The OCPP security profile the pile must connect with: 1 (Basic over ws or wss), 2 (Basic over TLS),
        /// 3 (TLS with a client certificate naming the chargePointId).
        public var securityProfile: Int = 1
    }

    /// The charge point in a row's `id`, `password_hash`, `secret_salt`, `secret_digest` (nil when `id` is NULL).
    static func chargePoint(_ row: PostgresRow) throws -> ChargePoint? {
        guard let pileID = try row.decode("id", as: Int?.self) else { return nil }
        let salt = try row.decode("secret_salt", as: [UInt8]?.self)
        let digest = try row.decode("secret_digest", as: [UInt8]?.self)
        return ChargePoint(pileID: pileID, credentials: Credentials(subject: String(pileID), passwordHash: try row.decode("password_hash")),
                           secretDigest: salt.flatMap { salt in digest.map { (salt, $0) } },
                           securityProfile: Int(try row.decode("security_profile", as: Int16.self)))
    }

    /// Keeps the salted digest of a secret that just passed its bcrypt check, unless the password changed meanwhile.
    public func storeSecretDigest(pileID: Int, passwordHash: String, salt: [UInt8], digest: [UInt8]) async throws {
        try await pool.execute("""
            UPDATE piles SET secret_salt = \(salt), secret_digest = \(digest) WHERE id = \(pileID) AND password_hash = \(passwordHash)
            """)
    }

    /// The digests of secrets just set (first start, `pile add`), by pile id.
    public func storeSecretDigests(_ digests: [Int: (passwordHash: String, salt: [UInt8], digest: [UInt8])]) async throws {
        for (pileID, secret) in digests {
            try await storeSecretDigest(pileID: pileID, passwordHash: secret.passwordHash, salt: secret.salt, digest: secret.digest)
        }
    }

    public func setOCPPID(_ ocppID: String, pileID: Int) async throws {
        try await pool.execute("UPDATE piles SET ocpp_id = \(ocppID) WHERE id = \(pileID)")
    }

    /// Sets the security profile (1, 2 or 3) a pile must connect with; false when there is no such pile. A socket
    /// already open stays open: the profile is checked at each handshake.
    public func setSecurityProfile(_ profile: Int, pileID: Int) async throws -> Bool {
        guard let profile = Int16(exactly: profile), (1...3).contains(profile) else { throw StoreError.invalidSecurityProfile }
        return try await pool.query("UPDATE piles SET security_profile = \(profile) WHERE id = \(pileID) RETURNING id").first != nil
    }

    public func pileExists(_ pileID: Int) async throws -> Bool {
        try await pool.query("SELECT 1 AS one FROM piles WHERE id = \(pileID)").first != nil
    }

    /// The protocol of the pile's live socket; nil when no instance holds one.
    public func protocolOfPile(_ pileID: Int) async throws -> String? {
        try await pool.query("SELECT protocol FROM piles WHERE id = \(pileID) AND owner_instance IS NOT NULL").first?.decode("protocol")
    }

    public struct Boot: Sendable {
        public var vendor: String, model: String, serial: String?, firmware: String?
        public init(vendor: String, model: String, serial: String?, firmware: String?) {
            self.vendor = vendor
            self.model = model
            self.serial = serial
            self.firmware = firmware
        }
    }

    /// A boot recorded for the pile's current socket.
    public struct RecordedBoot: Sendable, Equatable {
        /// The station's engine holds a power limit for this charger (acknowledged, sent, or refused), which a
        /// reboot may have cleared (load management).
        public var holdsPowerLimit: Bool
        /// The charger's station has a power limit.
        public var stationHasPowerLimit: Bool
    }

    /// nil when `epoch` is not the pile's socket any more.
    @discardableResult
    public func recordBoot(_ boot: Boot, pileID: Int, epoch: Int64) async throws -> RecordedBoot? {
        let rows = try await boots.run(BootRecord(pile_id: pileID, epoch: epoch, vendor: boot.vendor, model: boot.model,
                                                  serial: boot.serial, firmware: boot.firmware))
        return try rows.first.map {
            RecordedBoot(holdsPowerLimit: try $0.decode("holds_power_limit"), stationHasPowerLimit: try $0.decode("station_has_power_limit"))
        }
    }

    private struct BootRecord: Encodable, Sendable {
        var pile_id: Int, epoch: Int64, vendor: String, model: String, serial: String?, firmware: String?
    }

    private static func recordBootsQuery(_ batch: String) -> PostgresQuery {
        """
        WITH boot AS (
            SELECT * FROM batch_rows(\(batch)::jsonb) AS element,
                jsonb_to_record(element) AS b(n integer, pile_id integer, epoch bigint, vendor text, model text, serial text, firmware text)
        ), locked AS (
            SELECT b.* FROM boot b JOIN piles p ON p.id = b.pile_id AND p.owner_epoch = b.epoch ORDER BY p.id FOR UPDATE OF p
        )
        UPDATE piles p SET boot_vendor = b.vendor, boot_model = b.model, boot_serial = b.serial, boot_firmware = b.firmware,
                           booted_at = now()
        FROM locked b
        WHERE p.id = b.pile_id
        RETURNING b.n,
            coalesce(p.engine_state->'power'->>'acknowledged_w', p.engine_state->'power'->>'pending_w') IS NOT NULL
                OR coalesce((p.engine_state->'power'->>'refuses_limits')::boolean, false) AS holds_power_limit,
            EXISTS (SELECT FROM stations s WHERE s.id = p.station_id AND s.state->'settings'->>'power_limit_w' IS NOT NULL)
                AS station_has_power_limit
        """
    }

    // MARK: idTags

    public struct IdTag: Sendable {
        public var driverID: Int64
        public var parentIdTag: String?
        public var expiresAt: Date?
        public var blocked: Bool
    }

    public func idTag(_ idTag: String) async throws -> IdTag? {
        try await pool.query("SELECT driver_id, parent_id_tag, expires_at, blocked FROM id_tags WHERE id_tag = \(idTag)").first.map {
            IdTag(driverID: try $0.decode("driver_id"), parentIdTag: try $0.decode("parent_id_tag"),
                  expiresAt: try $0.decode("expires_at"), blocked: try $0.decode("blocked"))
        }
    }

    /// The driver's own idTag, by username (what RemoteStartTransaction carries).
    public func idTag(ofDriver username: String) async throws -> String? {
        try await pool.query("SELECT id_tag FROM drivers WHERE username = \(username)").first?.decode("id_tag")
    }

    /// Provisions (or updates) an RFID card for a driver.
    public func upsertIdTag(_ idTag: String, driverUsername: String, parentIdTag: String?, expiresAt: Date?, blocked: Bool) async throws -> Bool {
        try await pool.execute("""
            INSERT INTO id_tags (id_tag, driver_id, parent_id_tag, expires_at, blocked)
            SELECT \(idTag), id, \(parentIdTag), \(expiresAt), \(blocked) FROM drivers WHERE username = \(driverUsername)
            ON CONFLICT (id_tag) DO UPDATE SET driver_id = EXCLUDED.driver_id, parent_id_tag = EXCLUDED.parent_id_tag,
                                               expires_at = EXCLUDED.expires_at, blocked = EXCLUDED.blocked
            """) == 1
    }

    // MARK: transactions

    public struct Transaction: Sendable {
        public var id: Int32
        public var pileID: Int
        public var stationID: Int?
        public var requestID: Int64?
        public var meterStartWh: Int64
        public var stopped: Bool
        /// The station ended the session first (it sent RemoteStopTransaction).
        public var stationStopped: Bool
        /// The station heard of it only after it started: billed from the charger's meter, outside the engine.
        public var offline: Bool
        public var idTag: String
        public var chargerStartedAt: Date
        /// When the pile was provisioned, in station time (nil: before migration 0016).
        public var pileProvisionedAt: Date?
    }

    /// What the station's decision on a card at a charger needs to know besides the station itself,
    /// read in one statement.
    public struct CardFacts: Sendable {
        /// The driver behind the card (a card session charges up to the battery).
        public var driver: String
        public var batteryCapacityKWh: Decimal
        /// The driver has a transaction open on another charger.
        public var openElsewhere: Bool
        /// This charger was told lately to start this driver's car for a request no transaction serves yet: a
        /// StartTransaction that answers a RemoteStartTransaction whose session the station has ended since is
        /// not a new card session. A start the charger already answered (or a card session's own) is not.
        public var awaitsRemoteStart: Bool
        /// The status the pile reported (the engine may not have taken it in yet).
        public var pileStatus: PileStatus?
    }

    /// A card and what the station's decision on it at this charger needs (nil facts: its driver is gone),
    /// in one statement; nil for an unknown card. `open_elsewhere` looks the driver's cards' open
    /// transactions up one card at a time (a lateral subquery with a LIMIT, on `ocpp_transactions_open_by_tag`):
    /// joined plainly, the planner walked every open transaction of the site for each card (1.4 ms at a
    /// thousand chargers).
    public static func cardStatement(_ idTag: String, pileID: Int) -> PostgresStatement<(tag: IdTag, facts: CardFacts?)?> {
        PostgresStatement("""
            SELECT g.driver_id, g.parent_id_tag, g.expires_at, g.blocked, d.username, d.battery_capacity_kwh,
                   EXISTS (SELECT 1 FROM id_tags o
                           CROSS JOIN LATERAL (SELECT 1 FROM ocpp_transactions t
                                               WHERE t.id_tag = o.id_tag AND t.stopped_at IS NULL AND t.pile_id <> \(pileID)
                                               LIMIT 1) AS open
                           WHERE o.driver_id = d.id) AS open_elsewhere,
                   EXISTS (SELECT 1 FROM pile_commands c
                           WHERE c.pile_id = \(pileID) AND c.instruction->'startCharging'->>'driver' = d.username
                             AND c.requested_at > now() - interval '10 minutes'
                             AND NOT EXISTS (SELECT 1 FROM ocpp_transactions t
                                             WHERE t.pile_id = c.pile_id
                                               AND t.request_id = (c.instruction->'startCharging'->>'requestID')::bigint)) AS awaits_remote_start,
                   (SELECT p.status FROM piles p WHERE p.id = \(pileID)) AS pile_status
            FROM id_tags g LEFT JOIN drivers d ON d.id = g.driver_id
            WHERE g.id_tag = \(idTag)
            """) { rows in
            try rows.first.map { row in
                let tag = IdTag(driverID: try row.decode("driver_id"), parentIdTag: try row.decode("parent_id_tag"),
                                expiresAt: try row.decode("expires_at"), blocked: try row.decode("blocked"))
                guard let driver = try row.decode("username", as: String?.self) else { return (tag, nil) }
                return (tag, CardFacts(driver: driver, batteryCapacityKWh: try row.decode("battery_capacity_kwh"),
                                       openElsewhere: try row.decode("open_elsewhere"), awaitsRemoteStart: try row.decode("awaits_remote_start"),
                                       pileStatus: try row.decode("pile_status", as: String?.self).flatMap(PileStatus.init(rawValue:))))
            }
        }
    }

    /// Whether a transaction already runs this request on this pile, one the station has not asked to stop
    /// (a card session the charger started itself: the station need not start it remotely).
    public func hasRunningTransaction(requestID: Int64, driver username: String, pileID: Int) async throws -> Bool {
        try await pool.query("""
            SELECT 1 AS one FROM ocpp_transactions t
            WHERE t.pile_id = \(pileID) AND t.stopped_at IS NULL AND t.remote_stop_at IS NULL AND t.request_id = \(requestID)
            LIMIT 1
            """).first != nil
    }

    /// A transaction as StartTransaction opened it: its id, the request it serves (nil: none yet), and
    /// whether it is new (false: a resent identical StartTransaction found the one it opened before).
    public struct OpenedTransaction: Sendable {
        public var id: Int32
        public var requestID: Int64?
        public var refused: Bool
        public var isNew: Bool
        /// A session the station heard of only after it started.
        public var offline: Bool
    }

    /// How the station takes a new transaction: the request it charges (`link`), refused (closed at once:
    /// the charger should end it, nothing is billed), or one the station heard of only after it started
    /// (a charger's offline backlog, billed at its stop outside the engine).
    public enum Opening: Sendable {
        case link(stationID: Int, requestID: Int64)
        case refuse
        case offline
    }

    /// Opens a transaction as `opening` says, in one statement; or finds the one a resent identical
    /// StartTransaction opened, which stays as it is (`isNew` false: the caller answers what it answered then).
    public static func openTransaction(
        pileID: Int, connectorID: Int, idTag: String, meterStartWh: Int64, chargerTimestamp: Date, flags: [String], opening: Opening,
        on connection: PostgresConnection
    ) async throws -> OpenedTransaction {
        let (stationID, requestID, refused, offline): (Int?, Int64?, Bool, Bool) = switch opening {
        case .link(let stationID, let requestID): (stationID, requestID, false, false)
        case .refuse: (nil, nil, true, false)
        case .offline: (nil, nil, false, true)
        }
        let row = try await connection.query("""
            INSERT INTO ocpp_transactions (pile_id, connector_id, id_tag, meter_start_wh, charger_started_at, timestamp_flags,
                                           station_id, request_id, stopped_at, stop_reason, offline)
            VALUES (\(pileID), \(connectorID), \(idTag), \(meterStartWh), \(chargerTimestamp), string_to_array(\(flags.joined(separator: ",")), ','),
                    \(stationID), \(requestID), CASE WHEN \(refused) THEN now() END, CASE WHEN \(refused) THEN 'Refused' END, \(offline))
            ON CONFLICT (pile_id, connector_id, id_tag, meter_start_wh, charger_started_at) DO UPDATE SET pile_id = EXCLUDED.pile_id
            RETURNING id, request_id, stop_reason IS NOT DISTINCT FROM 'Refused' AS refused, xmax = 0 AS inserted, offline
            """).first!
        return OpenedTransaction(id: try row.decode("id"), requestID: try row.decode("request_id"), refused: try row.decode("refused"),
                                 isNew: try row.decode("inserted"), offline: try row.decode("offline"))
    }

    /// Whether the id names a transaction of this pile.
    public static func transactionExists(_ transactionID: Int32, pileID: Int, on connection: PostgresConnection) async throws -> Bool {
        try await connection.query("SELECT 1 AS one FROM ocpp_transactions WHERE id = \(transactionID) AND pile_id = \(pileID)").first != nil
    }

    /// The transaction a StopTransaction with an id chargepile never gave (−1, the charger's own) is about:
    /// the one an identical StopTransaction closed before (a resend: it is closed already), else the latest
    /// open one of this pile it fits (the same idTag when the stop names one, started before the stop, a meter
    /// no higher than meterStop). Nil: none, the charger never sent its StartTransaction.
    public static func transactionForUnknownStop(
        pileID: Int, idTag: String?, meterStopWh: Int64, chargerTimestamp: Date, on connection: PostgresConnection
    ) async throws -> Int32? {
        try await connection.query("""
            SELECT id FROM (
                (SELECT id, 0 AS preference FROM ocpp_transactions
                 WHERE pile_id = \(pileID) AND charger_stopped_at = \(chargerTimestamp) AND meter_stop_wh = \(meterStopWh)
                 ORDER BY id DESC LIMIT 1)
                UNION ALL
                (SELECT id, 1 AS preference FROM ocpp_transactions
                 WHERE pile_id = \(pileID) AND stopped_at IS NULL AND (\(idTag)::text IS NULL OR id_tag = \(idTag)::text)
                   AND charger_started_at <= \(chargerTimestamp) AND meter_start_wh <= \(meterStopWh)
                 ORDER BY charger_started_at DESC, id DESC LIMIT 1)
            ) AS candidates
            ORDER BY preference LIMIT 1
            """).first?.decode("id")
    }

    /// An offline transaction from a StopTransaction alone (its StartTransaction never came): the start is
    /// what its transactionData says; no connector.
    public static func openTransactionFromStop(
        pileID: Int, idTag: String, meterStartWh: Int64, chargerStartedAt: Date, flags: [String], on connection: PostgresConnection
    ) async throws -> Int32 {
        try await connection.query("""
            INSERT INTO ocpp_transactions (pile_id, connector_id, id_tag, meter_start_wh, charger_started_at, timestamp_flags, offline)
            VALUES (\(pileID), NULL, \(idTag), \(meterStartWh), \(chargerStartedAt),
                    string_to_array(\(flags.joined(separator: ",")), ','), true)
            RETURNING id
            """).first!.decode("id")
    }

    /// Adds flags to a transaction (each once).
    public static func flag(_ transactionID: Int32, _ flags: [String], on connection: PostgresConnection) async throws {
        guard !flags.isEmpty else { return }
        try await connection.execute("""
            UPDATE ocpp_transactions
            SET timestamp_flags = ARRAY(SELECT DISTINCT f FROM unnest(timestamp_flags || string_to_array(\(flags.joined(separator: ",")), ',')) AS f ORDER BY f)
            WHERE id = \(transactionID)
            """)
    }

    /// The open transaction serving a charging request (for RemoteStopTransaction).
    public func openTransaction(requestID: Int64, pileID: Int) async throws -> Int32? {
        try await pool.query("""
            SELECT id FROM ocpp_transactions WHERE request_id = \(requestID) AND pile_id = \(pileID) AND stopped_at IS NULL
            ORDER BY id DESC LIMIT 1
            """).first?.decode("id")
    }

    /// The station ended the transaction's session and asks the charger to stop it.
    public func remoteStopRequested(_ id: Int32) async throws {
        try await pool.execute("UPDATE ocpp_transactions SET remote_stop_at = coalesce(remote_stop_at, now()) WHERE id = \(id)")
    }

    /// Closes a transaction once: nil when it is unknown on this pile or was closed already (a resent
    /// StopTransaction). A stop stamped before the start is flagged `stop_before_start`. `superseded`: a
    /// later transaction serves the same request on this pile (the station ended this one and started the
    /// car again: this StopTransaction came late).
    public static func stopTransaction(
        _ id: Int32, pileID: Int, meterStopWh: Int64, chargerTimestamp: Date, reason: String?, transactionData: String?, flags: [String]
    ) -> PostgresStatement<(transaction: Transaction, superseded: Bool)?> {
        PostgresStatement("""
            UPDATE ocpp_transactions SET meter_stop_wh = \(meterStopWh), charger_stopped_at = \(chargerTimestamp), stopped_at = now(),
                                         stop_reason = \(reason), transaction_data = \(transactionData)::jsonb,
                                         timestamp_flags = timestamp_flags || string_to_array(\(flags.joined(separator: ",")), ',')
                                             || CASE WHEN charger_started_at > \(chargerTimestamp) THEN '{stop_before_start}'::text[]
                                                     ELSE '{}'::text[] END
            WHERE id = \(id) AND pile_id = \(pileID) AND stopped_at IS NULL
            RETURNING id, pile_id, station_id, request_id, meter_start_wh, true AS stopped, remote_stop_at IS NOT NULL AS remote_stop,
                      offline, id_tag, charger_started_at, (SELECT p.provisioned_at FROM piles p WHERE p.id = pile_id) AS provisioned_at,
                      EXISTS (SELECT 1 FROM ocpp_transactions later
                              WHERE later.request_id = ocpp_transactions.request_id AND later.pile_id = ocpp_transactions.pile_id
                                AND later.id > ocpp_transactions.id) AS superseded
            """) { rows in try rows.first.map { (try Self.transaction(row: $0), try $0.decode("superseded")) } }
    }

    /// A MeterValues register reading of an open transaction, stored as its session's energy so far
    /// (`StationStore.storeMeterReadingsQuery`), in one statement with the other chargers' readings under way. Nil when
    /// the transaction is not open on this pile or serves no request.
    public func recordMeterValue(transactionID: Int32, pileID: Int, registerWh: Decimal) async throws
        -> (stationID: Int, requestID: Int64, energyKWh: Decimal, verdict: StationStore.MeterVerdict)? {
        try await meterValues.run(MeterValue(transaction_id: transactionID, pile_id: pileID, register_wh: registerWh)).first.map {
            (try $0.decode("station_id"), try $0.decode("request_id"), try $0.decode("energy_kwh"),
             StationStore.MeterVerdict(try $0.decode("verdict")))
        }
    }

    private struct MeterValue: Encodable, Sendable {
        var transaction_id: Int32, pile_id: Int, register_wh: Decimal
    }

    private static func transaction(row: PostgresRow) throws -> Transaction {
        Transaction(id: try row.decode("id"), pileID: try row.decode("pile_id"), stationID: try row.decode("station_id"),
                    requestID: try row.decode("request_id"), meterStartWh: try row.decode("meter_start_wh"),
                    stopped: try row.decode("stopped"), stationStopped: try row.decode("remote_stop"), offline: try row.decode("offline"),
                    idTag: try row.decode("id_tag"), chargerStartedAt: try row.decode("charger_started_at"),
                    pileProvisionedAt: try row.decode("provisioned_at"))
    }
}
