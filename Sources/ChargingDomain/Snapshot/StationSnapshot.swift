import Foundation

/// The stored form of a `Station` (the `stations.state` column): an explicit, versioned wire format with
/// its own stable keys, separate from the engine's in-memory properties, so that the engine can be
/// refactored freely and every stored row stays readable.
///
/// - Version 1 (this type) is what is written. Its keys never change; a change of format is a new version
///   with a new type, and `decodeStation` upgrades every older version it meets.
/// - Version 0 is the compiler-synthesized encoding of `Station` that chargepile wrote before versions
///   existed (no `version` key); `StationSnapshotV0` keeps a frozen copy of its shape.
///
/// Units are explicit in the keys: `_ms` instants are milliseconds since the Unix epoch (UTC), `_wms`
/// energies are watt-milliseconds, `_units` fees are `ExactFee` units (1 yuan = 3.6e13), prices are exact
/// decimal strings in yuan.
public struct StationSnapshot: Codable, Sendable, Equatable {
    public static let currentVersion = 1

    public var version: Int
    public var nowMs: Int64
    public var nextRequestID: Int64
    public var nextBillID: Int64
    public var nextFastNumber: Int
    public var nextSlowNumber: Int
    public var settings: Settings
    public var piles: [PileState]
    public var requests: [Request]
    public var waiting: [Int64]
    public var displaced: [Int64]
    /// Operators' reservations not yet ended; absent when there are none (and in every station stored before them).
    public var reservations: [Reservation]? = nil

    enum CodingKeys: String, CodingKey {
        case version
        case nowMs = "now_ms"
        case nextRequestID = "next_request_id"
        case nextBillID = "next_bill_id"
        case nextFastNumber = "next_fast_number"
        case nextSlowNumber = "next_slow_number"
        case settings, piles, requests, waiting, displaced, reservations
    }

    public struct Reservation: Codable, Sendable, Equatable {
        public var id: Int64
        public var pileID: Int
        public var driver: String
        public var fromMs: Int64
        public var untilMs: Int64

        enum CodingKeys: String, CodingKey {
            case id
            case pileID = "pile_id"
            case driver
            case fromMs = "from_ms"
            case untilMs = "until_ms"
        }
    }

    public struct Settings: Codable, Sendable, Equatable {
        public var piles: [PileSpecification]
        public var queueLength: Int
        public var waitingCapacity: Int
        public var timeZone: String
        public var tariff: [TariffPeriod]
        public var serviceFeePerKWh: String
        public var faultPolicy: String
        /// Absent: no limit (and in every station stored before load management).
        public var powerLimitW: Int64? = nil
        /// Absent: the default (every station stored before reservations).
        public var reservationMinutes: Int? = nil

        enum CodingKeys: String, CodingKey {
            case piles
            case queueLength = "queue_length"
            case waitingCapacity = "waiting_capacity"
            case timeZone = "time_zone"
            case tariff
            case serviceFeePerKWh = "service_fee_per_kwh"
            case faultPolicy = "fault_policy"
            case powerLimitW = "power_limit_w"
            case reservationMinutes = "reservation_minutes"
        }
    }

    public struct PileSpecification: Codable, Sendable, Equatable {
        public var id: Int
        public var mode: String
        public var powerW: Int64
        /// Absent: the station's default minimum.
        public var minimumPowerW: Int64? = nil

        enum CodingKeys: String, CodingKey {
            case id, mode
            case powerW = "power_w"
            case minimumPowerW = "minimum_power_w"
        }
    }

    public struct TariffPeriod: Codable, Sendable, Equatable {
        public var name: String
        public var startHour: Int
        public var endHour: Int
        public var pricePerKWh: String

        enum CodingKeys: String, CodingKey {
            case name
            case startHour = "start_hour"
            case endHour = "end_hour"
            case pricePerKWh = "price_per_kwh"
        }
    }

    public struct PileState: Codable, Sendable, Equatable {
        public var pile: PileSpecification
        public var status: String
        public var queue: [Int64]
        public var session: Session?
        public var totalSessions: Int
        public var totalEnergyWms: Int64
        public var totalDurationMs: Int64
        /// Absent: the charger was never sent a power limit (and in every row stored before load management).
        public var power: Power? = nil

        enum CodingKeys: String, CodingKey {
            case pile, status, queue, session, power
            case totalSessions = "total_sessions"
            case totalEnergyWms = "total_energy_wms"
            case totalDurationMs = "total_duration_ms"
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(pile, forKey: .pile)
            try container.encode(status, forKey: .status)
            try container.encode(queue, forKey: .queue)
            try container.encode(session, forKey: .session)  // an explicit null: every key is always present
            try container.encode(totalSessions, forKey: .totalSessions)
            try container.encode(totalEnergyWms, forKey: .totalEnergyWms)
            try container.encode(totalDurationMs, forKey: .totalDurationMs)
            try container.encodeIfPresent(power, forKey: .power)
        }
    }

    /// What the station knows of a charger's power limit.
    public struct Power: Codable, Sendable, Equatable {
        public var pendingW: Int64?
        public var pendingCeilingW: Int64?
        public var acknowledgedW: Int64?
        public var refusesLimits: Bool
        public var sequence: Int64
        public var stoppingW: Int64?

        enum CodingKeys: String, CodingKey {
            case sequence
            case stoppingW = "stopping_w"
            case pendingW = "pending_w"
            case pendingCeilingW = "pending_ceiling_w"
            case acknowledgedW = "acknowledged_w"
            case refusesLimits = "refuses_limits"
        }
    }

    public struct Session: Codable, Sendable, Equatable {
        public var requestID: Int64
        public var startedAtMs: Int64
        public var targetWms: Int64
        public var checkpointAtMs: Int64
        public var checkpointWms: Int64
        public var checkpointChargingFeeUnits: Int64
        public var completesAtMs: Int64
        /// Absent: the car charges at its pile's power.
        public var powerW: Int64? = nil

        enum CodingKeys: String, CodingKey {
            case requestID = "request_id"
            case startedAtMs = "started_at_ms"
            case targetWms = "target_wms"
            case checkpointAtMs = "checkpoint_at_ms"
            case checkpointWms = "checkpoint_wms"
            case checkpointChargingFeeUnits = "checkpoint_charging_fee_units"
            case completesAtMs = "completes_at_ms"
            case powerW = "power_w"
        }
    }

    public struct Request: Codable, Sendable, Equatable {
        public var id: Int64
        public var driver: String
        public var mode: String
        public var number: Int
        public var requestedWms: Int64
        public var batteryCapacityWms: Int64
        public var submittedAtMs: Int64
        public var firstChargedAtMs: Int64?
        public var deliveredWms: Int64
        public var chargingFeeUnits: Int64
        public var serviceFeeUnits: Int64

        enum CodingKeys: String, CodingKey {
            case id, driver, mode, number
            case requestedWms = "requested_wms"
            case batteryCapacityWms = "battery_capacity_wms"
            case submittedAtMs = "submitted_at_ms"
            case firstChargedAtMs = "first_charged_at_ms"
            case deliveredWms = "delivered_wms"
            case chargingFeeUnits = "charging_fee_units"
            case serviceFeeUnits = "service_fee_units"
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(driver, forKey: .driver)
            try container.encode(mode, forKey: .mode)
            try container.encode(number, forKey: .number)
            try container.encode(requestedWms, forKey: .requestedWms)
            try container.encode(batteryCapacityWms, forKey: .batteryCapacityWms)
            try container.encode(submittedAtMs, forKey: .submittedAtMs)
            try container.encode(firstChargedAtMs, forKey: .firstChargedAtMs)
            try container.encode(deliveredWms, forKey: .deliveredWms)
            try container.encode(chargingFeeUnits, forKey: .chargingFeeUnits)
            try container.encode(serviceFeeUnits, forKey: .serviceFeeUnits)
        }
    }

    /// Why a stored snapshot could not become a station.
    public enum DecodingProblem: Error, Equatable, Sendable, CustomStringConvertible {
        /// Written by a newer chargepile than this one.
        case unsupportedVersion(Int)
        case invalid(String)

        public var description: String {
            switch self {
            case .unsupportedVersion(let version): "station snapshot version \(version) is newer than this chargepile reads (\(StationSnapshot.currentVersion))"
            case .invalid(let problem): "invalid station snapshot: \(problem)"
            }
        }
    }
}

// MARK: - Station ⇄ snapshot

extension StationSnapshot {
    /// The current version's form of a station.
    public init(_ station: Station) {
        self.init(headerOf: station)
        settings = Settings(station.settings)
        piles = station.piles.map(PileState.init)
        requests = station.requests.map(Request.init)
    }

    /// The station this snapshot describes.
    public func station() throws(DecodingProblem) -> Station {
        guard version == Self.currentVersion else { throw .unsupportedVersion(version) }
        var station = Station(settings: try settings.stationSettings(), now: nowMs)
        station.nextRequestID = nextRequestID
        station.nextBillID = nextBillID
        station.numbering = QueueNumbering(nextFast: nextFastNumber, nextSlow: nextSlowNumber)
        station.piles = try piles.map { state throws(DecodingProblem) in
            var totals = PileTotals()
            totals.sessions = state.totalSessions
            totals.energy = Energy(wattMilliseconds: state.totalEnergyWms)
            totals.durationMs = state.totalDurationMs
            return Pile(
                spec: try state.pile.pileSpec(), status: try Self.parse(PileStatus.self, state.status, "pile status"),
                queue: state.queue,
                session: state.session.map { session in
                    ChargingSession(
                        requestID: session.requestID, startedAt: session.startedAtMs, target: Energy(wattMilliseconds: session.targetWms),
                        checkpointTime: session.checkpointAtMs, checkpointEnergy: Energy(wattMilliseconds: session.checkpointWms),
                        chargingFeeAtCheckpoint: ExactFee(units: session.checkpointChargingFeeUnits), completesAt: session.completesAtMs,
                        powerWatts: session.powerW)
                },
                totals: totals,
                power: state.power.map { PilePower(
                    pendingWatts: $0.pendingW, pendingCeilingWatts: $0.pendingCeilingW, acknowledgedWatts: $0.acknowledgedW,
                    refusesLimits: $0.refusesLimits, sequence: $0.sequence, stoppingWatts: $0.stoppingW) }
                    ?? PilePower())
        }
        station.requests = try requests.map { request throws(DecodingProblem) in
            ChargingRequest(
                id: request.id, driver: request.driver, mode: try Self.parse(ChargingMode.self, request.mode, "request mode"),
                number: request.number, requested: Energy(wattMilliseconds: request.requestedWms),
                batteryCapacity: Energy(wattMilliseconds: request.batteryCapacityWms), submittedAt: request.submittedAtMs,
                firstChargedAt: request.firstChargedAtMs, delivered: Energy(wattMilliseconds: request.deliveredWms),
                chargingFee: ExactFee(units: request.chargingFeeUnits), serviceFee: ExactFee(units: request.serviceFeeUnits))
        }
        station.waiting = waiting
        station.displaced = displaced
        station.reservations = (reservations ?? []).map {
            PileReservation(id: $0.id, pileID: $0.pileID, driver: $0.driver, from: $0.fromMs, until: $0.untilMs)
        }
        return station
    }

    static func parse<Value: RawRepresentable<String>>(_ type: Value.Type, _ raw: String, _ what: String) throws(DecodingProblem) -> Value {
        guard let value = Value(rawValue: raw) else { throw .invalid("\(what) \(raw)") }
        return value
    }

    static func decimal(_ text: String, _ what: String) throws(DecodingProblem) -> Decimal {
        guard let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")), value.isFinite else { throw .invalid("\(what) \(text)") }
        return value
    }
}

extension StationSnapshot.PileState {
    init(_ pile: Pile) {
        self.init(
            pile: StationSnapshot.PileSpecification(pile.spec), status: pile.status.rawValue, queue: pile.queue,
            session: pile.session.map { session in
                StationSnapshot.Session(
                    requestID: session.requestID, startedAtMs: session.startedAt, targetWms: session.target.wattMilliseconds,
                    checkpointAtMs: session.checkpointTime, checkpointWms: session.checkpointEnergy.wattMilliseconds,
                    checkpointChargingFeeUnits: session.chargingFeeAtCheckpoint.units, completesAtMs: session.completesAt,
                    powerW: session.powerWatts)
            },
            totalSessions: pile.totals.sessions, totalEnergyWms: pile.totals.energy.wattMilliseconds,
            totalDurationMs: pile.totals.durationMs,
            power: pile.power == PilePower() ? nil : StationSnapshot.Power(
                pendingW: pile.power.pendingWatts, pendingCeilingW: pile.power.pendingCeilingWatts,
                acknowledgedW: pile.power.acknowledgedWatts, refusesLimits: pile.power.refusesLimits, sequence: pile.power.sequence,
                stoppingW: pile.power.stoppingWatts))
    }
}

extension StationSnapshot.Request {
    init(_ request: ChargingRequest) {
        self.init(
            id: request.id, driver: request.driver, mode: request.mode.rawValue, number: request.number,
            requestedWms: request.requested.wattMilliseconds, batteryCapacityWms: request.batteryCapacity.wattMilliseconds,
            submittedAtMs: request.submittedAt, firstChargedAtMs: request.firstChargedAt,
            deliveredWms: request.delivered.wattMilliseconds, chargingFeeUnits: request.chargingFee.units,
            serviceFeeUnits: request.serviceFee.units)
    }
}

extension StationSnapshot.Settings {
    init(_ settings: StationSettings) {
        piles = settings.piles.map(StationSnapshot.PileSpecification.init)
        queueLength = settings.queueLength
        waitingCapacity = settings.waitingCapacity
        timeZone = settings.tariff.timeZoneIdentifier
        tariff = settings.tariff.periods.map {
            StationSnapshot.TariffPeriod(name: $0.name, startHour: $0.startHour, endHour: $0.endHour, pricePerKWh: $0.pricePerKWh.exactText)
        }
        serviceFeePerKWh = settings.serviceFeePerKWh.exactText
        faultPolicy = settings.faultPolicy.rawValue
        powerLimitW = settings.powerLimitWatts
        reservationMinutes = settings.reservationMinutes == StationSettings.defaultReservationMinutes ? nil : settings.reservationMinutes
    }

    func stationSettings() throws(StationSnapshot.DecodingProblem) -> StationSettings {
        var periods: [ChargingDomain.TariffPeriod] = []
        for period in tariff {
            periods.append(ChargingDomain.TariffPeriod(
                name: period.name, startHour: period.startHour, endHour: period.endHour,
                pricePerKWh: try StationSnapshot.decimal(period.pricePerKWh, "tariff price")))
        }
        var pileSpecs: [PileSpec] = []
        for pile in piles { pileSpecs.append(try pile.pileSpec()) }
        return StationSettings(
            piles: pileSpecs, queueLength: queueLength, waitingCapacity: waitingCapacity,
            tariff: TariffSchedule(periods: periods, timeZoneIdentifier: timeZone),
            serviceFeePerKWh: try StationSnapshot.decimal(serviceFeePerKWh, "service fee"),
            faultPolicy: try StationSnapshot.parse(FaultPolicy.self, faultPolicy, "fault policy"),
            powerLimitWatts: powerLimitW, reservationMinutes: reservationMinutes ?? StationSettings.defaultReservationMinutes)
    }
}

extension StationSnapshot.PileSpecification {
    init(_ spec: PileSpec) {
        self.init(id: spec.id, mode: spec.mode.rawValue, powerW: spec.powerWatts, minimumPowerW: spec.minimumPowerWatts)
    }

    func pileSpec() throws(StationSnapshot.DecodingProblem) -> PileSpec {
        PileSpec(id: id, mode: try StationSnapshot.parse(ChargingMode.self, mode, "pile mode"), powerWatts: powerW, minimumPowerWatts: minimumPowerW)
    }
}

extension Decimal {
    /// The exact decimal text ("0.8", "1", "0.0001"), independent of locale.
    var exactText: String { NSDecimalNumber(decimal: self).description(withLocale: Locale(identifier: "en_US_POSIX")) }
}
