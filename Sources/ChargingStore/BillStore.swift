import Foundation
import PostgresClient

/// Detail records (bills), newest first: a driver's own, and every driver's for admins.
public struct BillStore: Sendable {
    public struct Record: Sendable, Equatable {
        public var id: Int64
        public var requestID: Int64
        /// The driver's username.
        public var driver: String
        public var createdAt: Date
        public var pileID: Int
        public var energyKWh: Decimal
        public var durationMs: Int64
        public var startedAt: Date
        public var finishedAt: Date
        public var chargingFee: Decimal
        public var serviceFee: Decimal
        public var totalFee: Decimal
        public var endedBy: String

        /// A row of `columns`.
        init(_ row: PostgresRow) throws {
            id = try row.decode("id")
            requestID = try row.decode("request_id")
            driver = try row.decode("username")
            createdAt = try row.decode("created_at")
            pileID = try row.decode("pile_id")
            energyKWh = try row.decode("energy_kwh")
            durationMs = try row.decode("duration_ms")
            startedAt = try row.decode("started_at")
            finishedAt = try row.decode("finished_at")
            chargingFee = try row.decode("charging_fee")
            serviceFee = try row.decode("service_fee")
            totalFee = try row.decode("total_fee")
            endedBy = try row.decode("ended_by")
        }

        /// What a `Record` reads, from bills (or `report_bills_local`) `b` joined with drivers `d`.
        static let columns = """
            b.id, b.request_id, d.username, b.created_at, b.pile_id, b.energy_kwh, b.duration_ms, b.started_at, b.finished_at,
            b.charging_fee, b.service_fee, b.total_fee, b.ended_by
            """
    }

    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    public func bills(driverID: Int64, limit: Int = 500) async throws -> [Record] {
        try await pool.query("""
            SELECT \(unsafeRaw: Record.columns)
            FROM bills b JOIN drivers d ON d.id = b.driver_id
            WHERE b.driver_id = \(driverID) ORDER BY b.id DESC LIMIT \(limit)
            """).map(Record.init)
    }

    /// Every driver's detail records; `from`/`to` (`YYYY-MM-DD`, inclusive) are local finishing dates.
    public func bills(stationID: Int? = nil, pileID: Int?, driver: String?, from: String?, to: String?, limit: Int) async throws -> [Record] {
        try await pool.query("""
            SELECT \(unsafeRaw: Record.columns)
            FROM report_bills_local b
            JOIN drivers d ON d.id = b.driver_id
            WHERE (\(pileID) IS NULL OR b.pile_id = \(pileID))
              AND (\(stationID)::integer IS NULL OR b.station_id = \(stationID)::integer)
              AND (\(driver)::text IS NULL OR d.username = \(driver)::text)
              AND (\(from)::date IS NULL OR b.finished_local::date >= \(from)::date)
              AND (\(to)::date IS NULL OR b.finished_local::date <= \(to)::date)
            ORDER BY b.id DESC
            LIMIT \(limit)
            """).map(Record.init)
    }
}
