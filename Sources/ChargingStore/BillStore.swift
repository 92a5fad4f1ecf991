import Foundation
import PostgresClient

/// A driver's detail records, newest first.
public struct BillStore: Sendable {
    public struct Record: Sendable, Equatable {
        public var id: Int64
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
    }

    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    public func bills(driverID: Int64, limit: Int = 500) async throws -> [Record] {
        try await pool.query("""
            SELECT id, created_at, pile_id, energy_kwh, duration_ms, started_at, finished_at, charging_fee, service_fee,
                   total_fee, ended_by
            FROM bills WHERE driver_id = \(driverID) ORDER BY id DESC LIMIT \(limit)
            """).map { row in
            Record(id: try row.decode("id"), createdAt: try row.decode("created_at"), pileID: try row.decode("pile_id"),
                   energyKWh: try row.decode("energy_kwh"), durationMs: try row.decode("duration_ms"),
                   startedAt: try row.decode("started_at"), finishedAt: try row.decode("finished_at"),
                   chargingFee: try row.decode("charging_fee"), serviceFee: try row.decode("service_fee"),
                   totalFee: try row.decode("total_fee"), endedBy: try row.decode("ended_by"))
        }
    }
}
