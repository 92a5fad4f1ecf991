import Foundation
import PostgresClient

/// What the admin console reads besides the seed's endpoints: the DBA views of
/// `0002_reports.sql` (`pile_overview`, `report_pile_periods`, `recent_commands`) and the
/// detail records of every driver.
public struct ConsoleStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    /// How many changes each console topic has seen (`console_change_counters`, migration 0014), and the
    /// transactions running at the time: `runningFrom` is the oldest one still running, `runningBefore`
    /// a transaction id past every one running.
    public struct ChangeCounters: Sendable, Equatable {
        public var topics: [String: Int64]
        public var runningFrom: Int64
        public var runningBefore: Int64

        public init(topics: [String: Int64], runningFrom: Int64, runningBefore: Int64) {
            self.topics = topics
            self.runningFrom = runningFrom
            self.runningBefore = runningBefore
        }
    }

    public static let changeTopics = ["piles", "commands", "station", "bills", "ocpp"]

    public func changeCounters() async throws -> ChangeCounters {
        let row = try await pool.query("SELECT * FROM console_change_counters").first!
        var topics: [String: Int64] = [:]
        for topic in Self.changeTopics { topics[topic] = try row.decode(topic) }
        return ChangeCounters(topics: topics, runningFrom: try row.decode("running_from"), runningBefore: try row.decode("running_before"))
    }

    public struct PileOverview: Sendable {
        public var pileID: Int
        public var stationID: Int
        public var kind: String
        public var powerKW: Decimal
        public var status: String
        public var connected: Bool
        public var ownerAddress: String?
        public var connectedSince: Date?
        public var carsAtPile: Int64
        public var lastCommandID: Int64?
        public var lastCommandStatus: String?
        public var lastCommandOutcome: String?
        public var lastCommandRequestedAt: Date?
        public var totalChargingTimes: Int64
        public var totalChargingKWh: Decimal
        public var totalChargingSeconds: Decimal
    }

    /// `pile_overview`, with the last *admin status* command: the view's last command may be an
    /// instruction of the engine (start/stop) or an OCPP call, which every pile gets many of.
    public func piles(stationID: Int? = nil) async throws -> [PileOverview] {
        try await pool.query("""
            SELECT o.pile_id, o.station_id, o.kind, o.power_kw, o.status, o.connected, o.owner_address, o.connected_since,
                   o.cars_at_pile, c.id AS last_command_id, c.status AS last_command_status,
                   CASE c.state
                       WHEN 'written' THEN CASE WHEN c.acked_at IS NOT NULL THEN 'written, acked' ELSE 'written' END
                       WHEN 'failed' THEN 'failed: ' || coalesce(c.error, 'unknown error')
                       ELSE c.state
                   END AS last_command_outcome,
                   c.requested_at AS last_command_requested_at,
                   o.total_charging_times, o.total_charging_kwh, o.total_charging_seconds
            FROM pile_overview o
            LEFT JOIN LATERAL (
                SELECT * FROM pile_commands pc WHERE pc.pile_id = o.pile_id AND pc.status IS NOT NULL ORDER BY pc.id DESC LIMIT 1
            ) c ON true
            WHERE (\(stationID)::integer IS NULL OR o.station_id = \(stationID)::integer)
            ORDER BY o.pile_id
            """).map { row in
            PileOverview(
                pileID: try row.decode("pile_id"), stationID: try row.decode("station_id"), kind: try row.decode("kind"),
                powerKW: try row.decode("power_kw"), status: try row.decode("status"), connected: try row.decode("connected"),
                ownerAddress: try row.decode("owner_address"), connectedSince: try row.decode("connected_since"),
                carsAtPile: try row.decode("cars_at_pile"), lastCommandID: try row.decode("last_command_id"),
                lastCommandStatus: try row.decode("last_command_status"), lastCommandOutcome: try row.decode("last_command_outcome"),
                lastCommandRequestedAt: try row.decode("last_command_requested_at"),
                totalChargingTimes: try row.decode("total_charging_times"), totalChargingKWh: try row.decode("total_charging_kwh"),
                totalChargingSeconds: try row.decode("total_charging_seconds"))
        }
    }

    public enum Granularity: String, Sendable, CaseIterable {
        case day, week, month
    }

    public struct ReportRow: Sendable {
        public var stationID: Int
        public var pileID: Int
        /// The first local date of the period, `YYYY-MM-DD`.
        public var period: String
        public var chargingCount: Int64
        public var chargingSeconds: Decimal
        public var energyKWh: Decimal
        public var chargingFee: Decimal
        public var serviceFee: Decimal
        public var totalFee: Decimal
    }

    /// Rows of `report_pile_periods`, oldest period first; `from`/`to` (`YYYY-MM-DD`, inclusive) bound the period's first day.
    public func report(granularity: Granularity, stationID: Int? = nil, pileID: Int?, from: String?, to: String?, limit: Int) async throws -> [ReportRow] {
        try await pool.query("""
            SELECT station_id, pile_id, period::text AS period, charging_count, charging_seconds, energy_kwh,
                   charging_fee, service_fee, total_fee
            FROM report_pile_periods
            WHERE granularity = \(granularity.rawValue)
              AND (\(stationID)::integer IS NULL OR station_id = \(stationID)::integer)
              AND (\(pileID) IS NULL OR pile_id = \(pileID))
              AND (\(from)::date IS NULL OR period >= \(from)::date)
              AND (\(to)::date IS NULL OR period <= \(to)::date)
            ORDER BY period, station_id, pile_id
            LIMIT \(limit)
            """).map { row in
            ReportRow(stationID: try row.decode("station_id"), pileID: try row.decode("pile_id"), period: try row.decode("period"),
                      chargingCount: try row.decode("charging_count"), chargingSeconds: try row.decode("charging_seconds"),
                      energyKWh: try row.decode("energy_kwh"), chargingFee: try row.decode("charging_fee"),
                      serviceFee: try row.decode("service_fee"), totalFee: try row.decode("total_fee"))
        }
    }

    public struct CommandRow: Sendable {
        public var commandID: Int64
        public var pileID: Int
        /// `status` (an admin's status command), else the engine's or operator's instruction:
        /// `startCharging`, `stopCharging`, `ocppCall`.
        public var kind: String
        public var status: String?
        public var state: String
        public var error: String?
        public var requestedAt: Date
        public var finishedAt: Date?
        public var latencyMs: Decimal?
        public var ackedAt: Date?
        public var ownerAddress: String?
        public var requesterAddress: String?
    }

    /// The command log (`recent_commands`), newest first: everything sent to piles, or only the admins'
    /// status commands (`kind: "status"`) or only the other instructions (`kind: "instruction"`).
    public func commands(stationID: Int? = nil, pileID: Int?, kind: String?, limit: Int) async throws -> [CommandRow] {
        try await pool.query("""
            SELECT r.command_id, r.pile_id, r.status, r.state, r.error, r.requested_at, r.finished_at, r.latency_ms, r.acked_at,
                   r.owner_address, r.requester_address,
                   CASE WHEN r.status IS NOT NULL THEN 'status'
                        ELSE coalesce((SELECT min(k.key) FROM pile_commands pc, jsonb_object_keys(
                                           CASE WHEN jsonb_typeof(pc.instruction) = 'object' THEN pc.instruction
                                                ELSE '{}'::jsonb END) AS k (key)
                                       WHERE pc.id = r.command_id), 'instruction')
                   END AS kind
            FROM recent_commands r
            WHERE (\(pileID) IS NULL OR r.pile_id = \(pileID))
              AND (\(stationID)::integer IS NULL OR r.pile_id IN (SELECT id FROM piles WHERE station_id = \(stationID)::integer))
              AND (\(kind)::text IS NULL OR (r.status IS NOT NULL) = (\(kind)::text = 'status'))
            ORDER BY r.command_id DESC
            LIMIT \(limit)
            """).map { row in
            CommandRow(commandID: try row.decode("command_id"), pileID: try row.decode("pile_id"), kind: try row.decode("kind"),
                       status: try row.decode("status"),
                       state: try row.decode("state"), error: try row.decode("error"), requestedAt: try row.decode("requested_at"),
                       finishedAt: try row.decode("finished_at"), latencyMs: try row.decode("latency_ms"),
                       ackedAt: try row.decode("acked_at"), ownerAddress: try row.decode("owner_address"),
                       requesterAddress: try row.decode("requester_address"))
        }
    }

    /// Logs a token out: its row is gone, on every instance at once.
    public func revokeToken(hashHex: String, role: String) async throws {
        try await pool.execute("DELETE FROM auth_tokens WHERE token_hash = decode(\(hashHex), 'hex') AND role = \(role)")
    }
}
