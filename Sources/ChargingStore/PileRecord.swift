import ChargingDomain
import Foundation
import PostgresClient

/// A pile as the admin's status view shows it (a row of the `pile_status` view).
public struct PileRecord: Sendable, Equatable {
    public var id: Int
    public var stationID: Int
    public var mode: ChargingMode
    public var powerKW: Decimal
    public var status: PileStatus
    public var totalChargingTimes: Int
    public var totalChargingKWh: Decimal
    public var totalChargingSeconds: Decimal
    public var connected: Bool

    init(row: PostgresRow) throws {
        id = try row.decode("id")
        stationID = try row.decode("station_id")
        mode = try ChargingMode(rawValue: row.decode("kind")).orThrow()
        powerKW = try row.decode("power_kw")
        status = try PileStatus(rawValue: row.decode("status")).orThrow()
        totalChargingTimes = try row.decode("total_charging_times")
        totalChargingKWh = try row.decode("total_charging_kwh")
        totalChargingSeconds = try row.decode("total_charging_seconds")
        connected = try row.decode("connected")
    }
}

extension Optional {
    func orThrow() throws -> Wrapped {
        guard let value = self else { throw StoreError.notFound }
        return value
    }
}
