import Foundation
import OCPP16

/// What an OCPP charger says of its Smart Charging profile, read with GetConfiguration after it boots (and, for a
/// connection that sends no BootNotification, before its first profile): how the station's power limit must be
/// sent to it.
struct ChargerSmartCharging: Sendable, Equatable {
    static let rateUnitKey = "ChargingScheduleAllowedChargingRateUnit"
    static let maxStackLevelKey = "ChargeProfileMaxStackLevel"
    static let maxProfilesKey = "MaxChargingProfilesInstalled"
    static let keys = [rateUnitKey, maxStackLevelKey, maxProfilesKey]

    /// W, or A when the charger lists Current and not Power.
    var unit: ChargingRateUnit = .watts
    /// The highest stack level it takes; nil when it does not say.
    var maxStackLevel: Int?
    /// How many profiles it can hold; nil when it does not say.
    var maxProfilesInstalled: Int?

    /// A charger that cannot say (a CALLERROR, no such keys): W, stack level 0, room assumed; its answer to the
    /// profile decides.
    static let unknown = ChargerSmartCharging()

    init(unit: ChargingRateUnit = .watts, maxStackLevel: Int? = nil, maxProfilesInstalled: Int? = nil) {
        self.unit = unit
        self.maxStackLevel = maxStackLevel
        self.maxProfilesInstalled = maxProfilesInstalled
    }

    init(_ keys: [ConfigurationKey]) {
        func value(_ name: String) -> String? { keys.first { $0.key == name }?.value }
        func count(_ name: String) -> Int? {
            value(name).flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }.flatMap { $0 >= 0 ? $0 : nil }
        }
        self.init(unit: Self.unit(allowed: value(Self.rateUnitKey)), maxStackLevel: count(Self.maxStackLevelKey),
                  maxProfilesInstalled: count(Self.maxProfilesKey))
    }

    /// The unit of `ChargingScheduleAllowedChargingRateUnit` ("Current", "Power" or both): A only when the
    /// charger lists Current and not Power; W otherwise, a charger that does not say included.
    static func unit(allowed value: String?) -> ChargingRateUnit {
        let units = Set((value ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
        return units.contains("current") && !units.contains("power") ? .amperes : .watts
    }

    /// The station's limit goes in at the highest level the charger takes, so that it prevails over any
    /// TxDefaultProfile of a lower level installed by others; 0 when the charger does not say.
    var stackLevel: Int { maxStackLevel ?? 0 }

    /// A charger that can hold no profile at all is not sent one: it counts at its full power, as one that rejects it.
    var hasRoomForProfile: Bool { (maxProfilesInstalled ?? 1) > 0 }

    /// The station's limit for a pile's car: the connector-0 TxDefaultProfile, one period from the start of
    /// every transaction (Relative: no startSchedule), in W, or in A per phase on `supply`'s phases. Its id
    /// is the pile's, so each new limit replaces the last (same chargingProfileId, stack level and purpose).
    func powerLimitProfile(watts: Int64, pileID: Int, supply: OCPPSupply = OCPPSupply()) -> SetChargingProfileRequest {
        let period = switch unit {
        case .watts: ChargingSchedulePeriod(startPeriod: 0, limit: Double(max(0, watts)))
        case .amperes: ChargingSchedulePeriod(startPeriod: 0, limit: supply.amperes(watts: watts), numberPhases: supply.phases)
        }
        return SetChargingProfileRequest(connectorId: 0, csChargingProfiles: ChargingProfile(
            chargingProfileId: pileID, stackLevel: stackLevel, chargingProfilePurpose: .txDefaultProfile, chargingProfileKind: .relative,
            chargingSchedule: ChargingSchedule(chargingRateUnit: unit, chargingSchedulePeriod: [period])))
    }
}
