import ArgumentParser
import ChargingDomain
import ChargingServer
import ChargingStore
import Foundation

extension Stations {
    struct SetStation: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Set a station's power limit (the most power its cars may draw together) or reservation time.",
            discussion: "The cars' shares follow at once; the chargers of a running service are told their new limits.")
        @Argument(help: "The station's id (1 for the default station).") var id: Int
        @Option(name: .customLong("power-limit"), help: "The limit in kW, or `none`.") var powerLimit: String?
        @Option(name: .customLong("reservation-minutes"),
                help: "How long an OCPP charger keeps a pile for the car next in its queue beyond its expected arrival (1-1440; default 15).")
        var reservationMinutes: Int?

        func validate() throws {
            guard powerLimit != nil || reservationMinutes != nil else { throw ValidationError("give --power-limit, --reservation-minutes or both") }
            if let reservationMinutes, !(1...StationSettings.maximumReservationMinutes).contains(reservationMinutes) {
                throw ValidationError("--reservation-minutes is 1 to \(StationSettings.maximumReservationMinutes)")
            }
        }

        func run() async throws {
            if let reservationMinutes {
                do {
                    try await withMigratedPool { pool in
                        let service = StationService(store: .init(pool: pool), offlineGrace: ServerConfiguration().offlineGrace, logger: makeLogger("chargepile"))
                        try await service.setReservationMinutes(reservationMinutes, stationID: id)
                    }
                } catch let error as APIError where error == APIError("充电站不存在") {
                    throw ValidationError("no station \(id) (serve creates station 1 on its first start)")
                } catch let error as APIError {
                    throw ValidationError(error.message)
                }
                print("station \(id): reservation time \(reservationMinutes) minutes")
            }
            guard let powerLimit else { return }
            let watts: Int64?
            if powerLimit == "none" {
                watts = nil
            } else if let kW = Double(powerLimit), kW.isFinite, kW > 0, (kW * 1_000).rounded() >= 1 {
                watts = Int64((kW * 1_000).rounded())
            } else {
                throw ValidationError("--power-limit is a number of kW above 0, or none")
            }
            var limit: Int64?
            do {
                try await withMigratedPool { pool in
                    let service = StationService(store: .init(pool: pool), offlineGrace: ServerConfiguration().offlineGrace, logger: makeLogger("chargepile"))
                    limit = try await service.setPowerLimit(watts, stationID: id).limitWatts
                }
            } catch let error as APIError where error == APIError("充电站不存在") {
                throw ValidationError("no station \(id) (serve creates station 1 on its first start)")
            } catch let error as APIError {
                throw ValidationError(error.message)
            }
            print("station \(id): power limit \(limit.map { "\(Double($0) / 1_000) kW" } ?? "none")")
        }
    }
}
