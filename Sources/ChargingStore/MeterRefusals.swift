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

extension StationStore {
    /// What `record_meter_reading` (migration 0009) made of a reading.
    public enum MeterVerdict: Sendable, Equatable {
        /// Kept with the request; the engine takes it in when it next decides at the station.
        case stored
        /// Kept, and it reaches the session's target: the engine should run now.
        case completes
        case refused(StationError)

        init(_ text: String) {
            switch text {
            case "stored": self = .stored
            case "completes": self = .completes
            case "backwards": self = .refused(.invalidMeterReading)
            case "implausible": self = .refused(.implausibleMeterReading)
            default: self = .refused(.unknownRequest)
            }
        }
    }

    /// Stores a pile's reading of its charging car's session (kWh so far) with the request, if it fits,
    /// in one statement with the other piles' readings under way.
    public func recordMeterReading(stationID: Int, requestID: Int64, pileID: Int, energyKWh: Decimal) async throws -> MeterVerdict {
        MeterVerdict(try await readings.run(.init(station_id: stationID, request_id: requestID, pile_id: pileID, energy_kwh: energyKWh))
            .first.orThrow().decode("verdict"))
    }

    struct MeterReading: Encodable, Sendable {
        var station_id: Int, request_id: Int64, pile_id: Int, energy_kwh: Decimal
    }

    /// Requests are locked in (station, id) order, so two batches never deadlock.
    static func recordMeterReadingsQuery(_ batch: String) -> PostgresQuery {
        """
        SELECT r.n, record_meter_reading(r.station_id, r.request_id, r.pile_id, r.energy_kwh) AS verdict
        FROM batch_rows(\(batch)::jsonb) AS element,
             jsonb_to_record(element) AS r(n integer, station_id integer, request_id bigint, pile_id integer, energy_kwh numeric)
        ORDER BY r.station_id, r.request_id
        """
    }
}
