import ChargingDomain
import Foundation
import PostgresClient

/// Where a refused meter reading came from (`meter_refusals.source`).
public enum MeterSource: String, Sendable {
    /// Our protocol's `meter` frame.
    case chargepile
    /// OCPP MeterValues.
    case ocpp
    /// An OCPP StopTransaction's meterStop − meterStart.
    case ocppStop = "ocpp_stop"
}

extension StationStore {
    /// Keeps a refused meter reading for the DBAs (`meter_refusals`, view `meter_refusals_recent`), stamped
    /// with station time.
    public func recordMeterRefusal(
        stationID: Int, pileID: Int, requestID: Int64, energyKWh: Decimal, reason: String, source: MeterSource, message: String
    ) async throws {
        try await pool.execute(Self.meterRefusalQuery(stationID: stationID, pileID: pileID, requestID: requestID, energyKWh: energyKWh,
                                                      reason: reason, source: source, message: message))
    }

    public static func meterRefusalQuery(
        stationID: Int, pileID: Int, requestID: Int64, energyKWh: Decimal, reason: String, source: MeterSource, message: String
    ) -> PostgresQuery {
        """
            INSERT INTO meter_refusals (station_id, pile_id, request_id, energy_kwh, reason, source, message, station_at)
            SELECT \(stationID), \(pileID), \(requestID), \(energyKWh), \(reason), \(source.rawValue), \(message), c.station_now
            FROM station_clock c WHERE c.station_id = \(stationID)
            """
    }

    /// The reason code of a refused reading.
    public static func meterRefusalReason(_ error: StationError) -> String {
        switch error {
        case .implausibleMeterReading: "implausible"
        case .invalidMeterReading: "backwards"
        case .unknownRequest: "unknown_request"
        case .unknownPile: "unknown_pile"
        default: "other"
        }
    }
}
