import ChargingStore
import Foundation

/// A row of `GET /admin/piles`: `pile_overview` with the seed's names for the totals.
struct ConsolePileResponse: Encodable, Sendable {
    var charging_station_id: Int
    var station_id: Int
    var kind: String
    var power_kw: Double
    var status: String
    var connected: Bool
    /// The instance holding the pile's WebSocket (`host:port`), null when not connected.
    var instance: String?
    var connected_since: String?
    var cars_at_pile: Int64
    var last_command_id: Int64?
    var last_command_status: String?
    var last_command_outcome: String?
    var last_command_at: String?
    var total_charging_times: Int64
    var total_charging_power: Double
    var total_charging_duration: Double

    init(_ pile: ConsoleStore.PileOverview) {
        charging_station_id = pile.pileID
        station_id = pile.stationID
        kind = pile.kind
        power_kw = pile.powerKW.rounded(3)
        status = pile.status
        connected = pile.connected
        instance = pile.ownerAddress
        connected_since = pile.connectedSince.map { ISO8601.format($0) }
        cars_at_pile = pile.carsAtPile
        last_command_id = pile.lastCommandID
        last_command_status = pile.lastCommandStatus
        last_command_outcome = pile.lastCommandOutcome
        last_command_at = pile.lastCommandRequestedAt.map { ISO8601.format($0) }
        total_charging_times = pile.totalChargingTimes
        total_charging_power = pile.totalChargingKWh.rounded(3)
        total_charging_duration = pile.totalChargingSeconds.rounded(3)
    }

    func encode(to encoder: any Encoder) throws {
        enum Keys: String, CodingKey {
            case charging_station_id, station_id, kind, power_kw, status, connected, instance, connected_since, cars_at_pile,
                 last_command_id, last_command_status, last_command_outcome, last_command_at,
                 total_charging_times, total_charging_power, total_charging_duration
        }
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(charging_station_id, forKey: .charging_station_id)
        try container.encode(station_id, forKey: .station_id)
        try container.encode(kind, forKey: .kind)
        try container.encode(power_kw, forKey: .power_kw)
        try container.encode(status, forKey: .status)
        try container.encode(connected, forKey: .connected)
        // Always present, null when absent: the console tells "no command yet" from a missing key.
        try container.encode(instance, forKey: .instance)
        try container.encode(connected_since, forKey: .connected_since)
        try container.encode(cars_at_pile, forKey: .cars_at_pile)
        try container.encode(last_command_id, forKey: .last_command_id)
        try container.encode(last_command_status, forKey: .last_command_status)
        try container.encode(last_command_outcome, forKey: .last_command_outcome)
        try container.encode(last_command_at, forKey: .last_command_at)
        try container.encode(total_charging_times, forKey: .total_charging_times)
        try container.encode(total_charging_power, forKey: .total_charging_power)
        try container.encode(total_charging_duration, forKey: .total_charging_duration)
    }
}

/// A row of `GET /admin/reports` (`report_pile_periods`).
struct ReportRowResponse: Encodable, Sendable {
    var station_id: Int
    var pile_id: Int
    var period: String
    var charging_count: Int64
    var charging_seconds: Double
    var energy_kwh: Double
    var charging_fee: Double
    var service_fee: Double
    var total_fee: Double

    init(_ row: ConsoleStore.ReportRow) {
        station_id = row.stationID
        pile_id = row.pileID
        period = row.period
        charging_count = row.chargingCount
        charging_seconds = row.chargingSeconds.rounded(3)
        energy_kwh = row.energyKWh.rounded(3)
        charging_fee = row.chargingFee.rounded(2)
        service_fee = row.serviceFee.rounded(2)
        total_fee = row.totalFee.rounded(2)
    }
}

/// A detail record of `GET /admin/bills`: the driver's `BillResponse` fields plus who and which request.
struct AdminBillResponse: Encodable, Sendable {
    var bill_id: Int64
    var request_id: Int64
    var user_id: String
    var pile_id: Int
    var energy_kwh: Double
    var duration: Double
    var started_at: String
    var finished_at: String
    var charging_fee: Double
    var service_fee: Double
    var total_fee: Double
    var ended_by: String

    init(_ row: BillStore.Record) {
        bill_id = row.id
        request_id = row.requestID
        user_id = row.driver
        pile_id = row.pileID
        energy_kwh = row.energyKWh.rounded(3)
        duration = Double(row.durationMs) / 1000
        started_at = ISO8601.format(row.startedAt)
        finished_at = ISO8601.format(row.finishedAt)
        charging_fee = row.chargingFee.rounded(2)
        service_fee = row.serviceFee.rounded(2)
        total_fee = row.totalFee.rounded(2)
        ended_by = row.endedBy
    }
}

/// A row of `GET /admin/commands` (`recent_commands`).
struct CommandResponse: Encodable, Sendable {
    var command_id: Int64
    var pile_id: Int
    var kind: String
    var status: String?
    var state: String
    var error: String?
    var requested_at: String
    var finished_at: String?
    var latency_ms: Double?
    var acked_at: String?
    var owner_instance: String?
    var requester_instance: String?

    init(_ row: ConsoleStore.CommandRow) {
        command_id = row.commandID
        pile_id = row.pileID
        kind = row.kind
        status = row.status
        state = row.state
        error = row.error
        requested_at = ISO8601.format(row.requestedAt)
        finished_at = row.finishedAt.map { ISO8601.format($0) }
        latency_ms = row.latencyMs?.rounded(3)
        acked_at = row.ackedAt.map { ISO8601.format($0) }
        owner_instance = row.ownerAddress
        requester_instance = row.requesterAddress
    }

    func encode(to encoder: any Encoder) throws {
        enum Keys: String, CodingKey {
            case command_id, pile_id, kind, status, state, error, requested_at, finished_at, latency_ms, acked_at, owner_instance,
                 requester_instance
        }
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(command_id, forKey: .command_id)
        try container.encode(pile_id, forKey: .pile_id)
        try container.encode(kind, forKey: .kind)
        try container.encode(status, forKey: .status)
        try container.encode(state, forKey: .state)
        try container.encode(error, forKey: .error)
        try container.encode(requested_at, forKey: .requested_at)
        try container.encode(finished_at, forKey: .finished_at)
        try container.encode(latency_ms, forKey: .latency_ms)
        try container.encode(acked_at, forKey: .acked_at)
        try container.encode(owner_instance, forKey: .owner_instance)
        try container.encode(requester_instance, forKey: .requester_instance)
    }
}
