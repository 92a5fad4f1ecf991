import Foundation

/// The Smart Charging profile a RemoteStartTransaction may carry (a TxProfile).
public struct ChargingProfile: Codable, Sendable, Equatable {
    public var chargingProfileId: Int
    public var transactionId: Int?
    public var stackLevel: Int
    public var chargingProfilePurpose: ChargingProfilePurpose
    public var chargingProfileKind: ChargingProfileKind
    public var recurrencyKind: RecurrencyKind?
    public var validFrom: Date?
    public var validTo: Date?
    public var chargingSchedule: ChargingSchedule

    public init(
        chargingProfileId: Int, stackLevel: Int, chargingProfilePurpose: ChargingProfilePurpose,
        chargingProfileKind: ChargingProfileKind, chargingSchedule: ChargingSchedule, transactionId: Int? = nil,
        recurrencyKind: RecurrencyKind? = nil, validFrom: Date? = nil, validTo: Date? = nil
    ) {
        self.chargingProfileId = chargingProfileId
        self.transactionId = transactionId
        self.stackLevel = stackLevel
        self.chargingProfilePurpose = chargingProfilePurpose
        self.chargingProfileKind = chargingProfileKind
        self.recurrencyKind = recurrencyKind
        self.validFrom = validFrom
        self.validTo = validTo
        self.chargingSchedule = chargingSchedule
    }
}

public struct ChargingSchedule: Codable, Sendable, Equatable {
    /// Seconds.
    public var duration: Int?
    public var startSchedule: Date?
    public var chargingRateUnit: ChargingRateUnit
    public var chargingSchedulePeriod: [ChargingSchedulePeriod]
    /// In `chargingRateUnit`, a multiple of 0.1.
    public var minChargingRate: Double?

    public init(
        chargingRateUnit: ChargingRateUnit, chargingSchedulePeriod: [ChargingSchedulePeriod], duration: Int? = nil,
        startSchedule: Date? = nil, minChargingRate: Double? = nil
    ) {
        self.duration = duration
        self.startSchedule = startSchedule
        self.chargingRateUnit = chargingRateUnit
        self.chargingSchedulePeriod = chargingSchedulePeriod
        self.minChargingRate = minChargingRate
    }
}

public struct ChargingSchedulePeriod: Codable, Sendable, Equatable {
    /// Seconds from the start of the schedule.
    public var startPeriod: Int
    /// In the schedule's `chargingRateUnit`, a multiple of 0.1.
    public var limit: Double
    public var numberPhases: Int?

    public init(startPeriod: Int, limit: Double, numberPhases: Int? = nil) {
        self.startPeriod = startPeriod
        self.limit = limit
        self.numberPhases = numberPhases
    }
}

public enum ChargingProfilePurpose: String, Codable, Sendable, CaseIterable {
    case chargePointMaxProfile = "ChargePointMaxProfile"
    case txDefaultProfile = "TxDefaultProfile"
    case txProfile = "TxProfile"
}

public enum ChargingProfileKind: String, Codable, Sendable, CaseIterable {
    case absolute = "Absolute"
    case recurring = "Recurring"
    case relative = "Relative"
}

public enum RecurrencyKind: String, Codable, Sendable, CaseIterable {
    case daily = "Daily"
    case weekly = "Weekly"
}

public enum ChargingRateUnit: String, Codable, Sendable, CaseIterable {
    case amperes = "A"
    case watts = "W"
}
