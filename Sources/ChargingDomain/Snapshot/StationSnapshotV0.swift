import Foundation

/// Version 0 of the stored station: the compiler-synthesized `Codable` encoding of `Station` and its
/// parts as chargepile wrote them before the format had versions (rows without a `version` key).
/// A frozen copy of those property names, so that renaming the engine's properties never breaks old rows.
/// Never written; only read and upgraded to the current version.
struct StationSnapshotV0: Decodable {
    struct Settings: Decodable {
        struct Spec: Decodable {
            var id: Int
            var mode: String
            var powerWatts: Int64
        }
        struct Tariff: Decodable {
            struct Period: Decodable {
                var name: String
                var startHour: Int
                var endHour: Int
                var pricePerKWh: Decimal
            }
            var periods: [Period]
            var timeZoneIdentifier: String
        }
        var piles: [Spec]
        var queueLength: Int
        var waitingCapacity: Int
        var tariff: Tariff
        var serviceFeePerKWh: Decimal
        var faultPolicy: String
    }
    struct Numbering: Decodable {
        var nextFast: Int
        var nextSlow: Int
    }
    struct Session: Decodable {
        var requestID: Int64
        var startedAt: Int64
        var target: Int64
        var checkpointTime: Int64
        var checkpointEnergy: Int64
        var chargingFeeAtCheckpoint: Int64
        var completesAt: Int64
    }
    struct Totals: Decodable {
        var sessions: Int
        var energy: Int64
        var durationMs: Int64
    }
    struct Pile: Decodable {
        var spec: Settings.Spec
        var status: String
        var queue: [Int64]
        var session: Session?
        var totals: Totals
    }
    struct Request: Decodable {
        var id: Int64
        var driver: String
        var mode: String
        var number: Int
        var requested: Int64
        var batteryCapacity: Int64
        var submittedAt: Int64
        var firstChargedAt: Int64?
        var delivered: Int64
        var chargingFee: Int64
        var serviceFee: Int64
    }

    var settings: Settings
    var now: Int64
    var nextRequestID: Int64
    var nextBillID: Int64
    var numbering: Numbering
    var piles: [Pile]
    var requests: [Request]
    var waiting: [Int64]
    var displaced: [Int64]

    /// The same station in version 1.
    var upgraded: StationSnapshot {
        func spec(_ spec: Settings.Spec) -> StationSnapshot.PileSpecification {
            .init(id: spec.id, mode: spec.mode, powerW: spec.powerWatts)
        }
        return StationSnapshot(
            version: 1, nowMs: now, nextRequestID: nextRequestID, nextBillID: nextBillID,
            nextFastNumber: numbering.nextFast, nextSlowNumber: numbering.nextSlow,
            settings: .init(
                piles: settings.piles.map(spec), queueLength: settings.queueLength, waitingCapacity: settings.waitingCapacity,
                timeZone: settings.tariff.timeZoneIdentifier,
                tariff: settings.tariff.periods.map {
                    .init(name: $0.name, startHour: $0.startHour, endHour: $0.endHour, pricePerKWh: $0.pricePerKWh.exactText)
                },
                serviceFeePerKWh: settings.serviceFeePerKWh.exactText, faultPolicy: settings.faultPolicy),
            piles: piles.map { pile in
                .init(pile: spec(pile.spec), status: pile.status, queue: pile.queue,
                      session: pile.session.map {
                          .init(requestID: $0.requestID, startedAtMs: $0.startedAt, targetWms: $0.target,
                                checkpointAtMs: $0.checkpointTime, checkpointWms: $0.checkpointEnergy,
                                checkpointChargingFeeUnits: $0.chargingFeeAtCheckpoint, completesAtMs: $0.completesAt)
                      },
                      totalSessions: pile.totals.sessions, totalEnergyWms: pile.totals.energy, totalDurationMs: pile.totals.durationMs)
            },
            requests: requests.map {
                .init(id: $0.id, driver: $0.driver, mode: $0.mode, number: $0.number, requestedWms: $0.requested,
                      batteryCapacityWms: $0.batteryCapacity, submittedAtMs: $0.submittedAt, firstChargedAtMs: $0.firstChargedAt,
                      deliveredWms: $0.delivered, chargingFeeUnits: $0.chargingFee, serviceFeeUnits: $0.serviceFee)
            },
            waiting: waiting, displaced: displaced)
    }
}
