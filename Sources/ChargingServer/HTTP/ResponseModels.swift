import ChargingDomain
import ChargingStore
import Foundation

/// A row of `GET /admin/charge/status/get` (seed keys, plus `kind`, `power_kw`, `connected`).
struct PileStatusResponse: Encodable, Sendable {
    var charging_station_id: Int
    var status: String
    var total_charging_times: Int
    var total_charging_power: Double
    var total_charging_duration: Double
    var kind: String
    var power_kw: Double
    var connected: Bool

    init(_ pile: PileRecord) {
        charging_station_id = pile.id
        status = pile.status.rawValue
        total_charging_times = pile.totalChargingTimes
        total_charging_power = pile.totalChargingKWh.rounded(3)
        total_charging_duration = pile.totalChargingSeconds.rounded(3)
        kind = pile.mode.rawValue
        power_kw = pile.powerKW.rounded(3)
        connected = pile.connected
    }
}

struct ClockResponse: Encodable, Sendable {
    var now: String
    var mode: String
    var speed: Double

    init(_ clock: StationClock) {
        now = ISO8601.format(clock.now)
        mode = clock.mode.rawValue
        speed = clock.speed
    }
}

extension Decimal {
    /// A shown figure: exact internally, rounded (half up) only for display.
    func rounded(_ places: Int) -> Double {
        var value = self
        var result = Decimal()
        NSDecimalRound(&result, &value, places, .plain)
        // Through text: the nearest Double to "0.83" prints as 0.83, NSDecimalNumber's may not.
        return Double(result.description) ?? NSDecimalNumber(decimal: result).doubleValue
    }
}

/// ISO-8601 with offset, as every timestamp of the API (station time zone, UTC+8 by default).
enum ISO8601 {
    static func format(_ date: Date, timeZone: TimeZone = TimeZone(identifier: "Asia/Shanghai") ?? .gmt) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = timeZone
        return formatter.string(from: date)
    }

    static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}

/// A car of `GET /admin/charge/queue`: the seed's keys first, then the operator extras.
struct QueueEntryResponse: Encodable, Sendable {
    var user_id: String
    var battery_capacity: Double
    var request_quantity: Double
    var waiting_time: Int64
    var state: String
    var queue_number: String
    var charged_kwh: Double?
    var fee: Double?

    init(_ entry: QueueEntry) {
        user_id = entry.driver
        battery_capacity = entry.batteryCapacityKWh.rounded(3)
        request_quantity = entry.requestedKWh.rounded(3)
        waiting_time = entry.waitingSeconds
        state = entry.state.rawValue
        queue_number = entry.queueNumber
        charged_kwh = entry.chargedKWh?.rounded(2)
        fee = entry.fee?.rounded(2)
    }
}

struct WaitingEntryResponse: Encodable, Sendable {
    var user_id: String
    var queue_number: String
    var mode: String
    var request_quantity: Double
    var waiting_time: Int64
    var state: String

    init(_ entry: WaitingEntry) {
        user_id = entry.driver
        queue_number = entry.queueNumber
        mode = entry.mode.rawValue
        request_quantity = entry.requestedKWh.rounded(3)
        waiting_time = entry.waitingSeconds
        state = entry.state.rawValue
    }
}

struct SubmittedRequestResponse: Encodable, Sendable {
    var request_id: Int64
    var queue_number: String
    var state: String
    /// The station the request went to (the one the driver named, else station 1).
    var station_id: Int
}

struct RequestResponse: Encodable, Sendable {
    var request_id: Int64
    var queue_number: String
    var mode: String
    var request_quantity: Double
    var state: String
    var pile_id: Int?
    var cars_ahead: Int
    var waiting_time: Int64
    var charged_kwh: Double
    var charging_fee: Double
    var service_fee: Double
    /// The driver's own OCPP idTag: a charger's RemoteStartTransaction carries it.
    var id_tag: String
    var station_id: Int

    init(_ view: RequestView, idTag: String, stationID: Int) {
        id_tag = idTag
        station_id = stationID
        request_id = view.requestID
        queue_number = view.queueNumber
        mode = view.mode.rawValue
        request_quantity = view.requestedKWh.rounded(3)
        state = view.displayState
        pile_id = view.pileID
        cars_ahead = view.carsAhead
        waiting_time = view.waitingSeconds
        charged_kwh = view.chargedKWh.rounded(2)
        charging_fee = view.chargingFee.rounded(2)
        service_fee = view.serviceFee.rounded(2)
    }

    func encode(to encoder: any Encoder) throws {
        enum Keys: String, CodingKey {
            case request_id, queue_number, mode, request_quantity, state, pile_id, cars_ahead, waiting_time, charged_kwh, charging_fee, service_fee
            case id_tag, station_id
        }
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(request_id, forKey: .request_id)
        try container.encode(queue_number, forKey: .queue_number)
        try container.encode(mode, forKey: .mode)
        try container.encode(request_quantity, forKey: .request_quantity)
        try container.encode(state, forKey: .state)
        try container.encode(pile_id, forKey: .pile_id)  // null while not at a pile
        try container.encode(cars_ahead, forKey: .cars_ahead)
        try container.encode(waiting_time, forKey: .waiting_time)
        try container.encode(charged_kwh, forKey: .charged_kwh)
        try container.encode(charging_fee, forKey: .charging_fee)
        try container.encode(service_fee, forKey: .service_fee)
        try container.encode(id_tag, forKey: .id_tag)
        try container.encode(station_id, forKey: .station_id)
    }
}

extension RequestView {
    /// API.md's states: a displaced car waits, like one in the waiting area.
    var displayState: String { state.rawValue }
}

struct BillResponse: Encodable, Sendable {
    var bill_id: Int64
    var created_at: String
    var pile_id: Int
    var energy_kwh: Double
    var duration: Double
    var started_at: String
    var finished_at: String
    var charging_fee: Double
    var service_fee: Double
    var total_fee: Double
    var ended_by: String

    init(_ record: BillStore.Record) {
        bill_id = record.id
        created_at = ISO8601.format(record.createdAt)
        pile_id = record.pileID
        energy_kwh = record.energyKWh.rounded(3)
        duration = Double(record.durationMs) / 1000
        started_at = ISO8601.format(record.startedAt)
        finished_at = ISO8601.format(record.finishedAt)
        charging_fee = record.chargingFee.rounded(2)
        service_fee = record.serviceFee.rounded(2)
        total_fee = record.totalFee.rounded(2)
        ended_by = record.endedBy
    }
}

/// A station's power limit and how it is shared now (`/admin/station/get`, `/admin/station/set`).
struct StationPowerResponse: Encodable, Sendable {
    struct Pile: Encodable, Sendable {
        var pileID: Int
        var powerKW: Double
        var minimumPowerKW: Double
        /// The power the car charging there is allocated (null: no car charging).
        var allocatedKW: Double?
        /// The car's average power by its charger's meter since the session started (null: no reading yet).
        var measuredKW: Double?

        enum CodingKeys: String, CodingKey {
            case pileID = "pile_id"
            case powerKW = "power_kw"
            case minimumPowerKW = "minimum_power_kw"
            case allocatedKW = "allocated_kw"
            case measuredKW = "measured_kw"
        }

        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(pileID, forKey: .pileID)
            try container.encode(powerKW, forKey: .powerKW)
            try container.encode(minimumPowerKW, forKey: .minimumPowerKW)
            try container.encode(allocatedKW, forKey: .allocatedKW)
            try container.encode(measuredKW, forKey: .measuredKW)
        }
    }

    var stationID: Int
    /// Null: no limit.
    var powerLimitKW: Double?
    var allocatedKW: Double
    var piles: [Pile]
    var reservationMinutes: Int

    enum CodingKeys: String, CodingKey {
        case stationID = "station_id"
        case powerLimitKW = "power_limit_kw"
        case allocatedKW = "allocated_kw"
        case piles
        case reservationMinutes = "reservation_minutes"
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(stationID, forKey: .stationID)
        try container.encode(powerLimitKW, forKey: .powerLimitKW)
        try container.encode(allocatedKW, forKey: .allocatedKW)
        try container.encode(piles, forKey: .piles)
        try container.encode(reservationMinutes, forKey: .reservationMinutes)
    }

    init(_ power: StationPower) {
        func kW(_ watts: Int64) -> Double { Double(watts) / 1_000 }
        reservationMinutes = power.reservationMinutes
        stationID = power.stationID
        powerLimitKW = power.limitWatts.map(kW)
        allocatedKW = kW(power.piles.compactMap(\.allocatedWatts).reduce(0, +))
        piles = power.piles.map {
            Pile(pileID: $0.pileID, powerKW: kW($0.powerWatts), minimumPowerKW: kW($0.minimumPowerWatts),
                 allocatedKW: $0.allocatedWatts.map(kW), measuredKW: $0.measuredWatts.map(kW))
        }
    }
}
