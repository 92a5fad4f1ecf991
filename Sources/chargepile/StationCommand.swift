import ArgumentParser
import ChargingDomain
import ChargingServer
import ChargingStore
import Foundation

extension Stations {
    struct SetStation: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Set a station's power limit (the most power its cars may draw together), a pile's minimum power or the reservation time.",
            discussion: """
                The cars' shares follow at once; the chargers of a running service are told their new limits.
                --pile with --minimum-power sets the least power a car can charge at on that pile (default: 4.14 kW, \
                an AC car's 6 A on three phases); `default` goes back to it.
                """)
        @Argument(help: "The station's id (1 for the default station).") var id: Int
        @Option(name: .customLong("power-limit"), help: "The limit in kW, or `none`.") var powerLimit: String?
        @Option(help: "The pile whose minimum power --minimum-power sets.") var pile: Int?
        @Option(name: .customLong("minimum-power"), help: "The pile's minimum power in kW, or `default`.") var minimumPower: String?
        @Option(name: .customLong("reservation-minutes"),
                help: "How long an OCPP charger keeps a pile for the car next in its queue beyond its expected arrival (1-1440; default 15).")
        var reservationMinutes: Int?

        func validate() throws {
            guard powerLimit != nil || minimumPower != nil || reservationMinutes != nil else {
                throw ValidationError("give --power-limit, --pile with --minimum-power, or --reservation-minutes")
            }
            guard (pile == nil) == (minimumPower == nil) else { throw ValidationError("--pile and --minimum-power go together") }
            _ = try powerLimit.map { try Self.watts($0, option: "--power-limit", none: "none") }
            _ = try minimumPower.map { try Self.watts($0, option: "--minimum-power", none: "default") }
            if let reservationMinutes, !(1...StationSettings.maximumReservationMinutes).contains(reservationMinutes) {
                throw ValidationError("--reservation-minutes is 1 to \(StationSettings.maximumReservationMinutes)")
            }
        }

        func run() async throws {
            let limit = try powerLimit.map { try Self.watts($0, option: "--power-limit", none: "none") }
            let minimum = try minimumPower.map { try Self.watts($0, option: "--minimum-power", none: "default") }
            var power: StationPower?
            do {
                try await withMigratedPool { pool in
                    let service = StationService(store: .init(pool: pool), offlineGrace: ServerConfiguration().offlineGrace, logger: makeLogger("chargepile"))
                    if let reservationMinutes { try await service.setReservationMinutes(reservationMinutes, stationID: id) }
                    if let pile, let minimum { power = try await service.setMinimumPower(minimum, pileID: pile, stationID: id) }
                    if let limit { power = try await service.setPowerLimit(limit, stationID: id) }
                }
            } catch let error as APIError where error == APIError("充电站不存在") {
                throw ValidationError("no station \(id) (serve creates station 1 on its first start)")
            } catch let error as APIError where error == APIError("充电桩不存在") {
                throw ValidationError("station \(id) has no pile \(pile.map(String.init) ?? "")")
            } catch let error as APIError {
                throw ValidationError(error.message)
            }
            if let reservationMinutes { print("station \(id): reservation time \(reservationMinutes) minutes") }
            guard let power else { return }
            if powerLimit != nil {
                print("station \(id): power limit \(power.limitWatts.map { "\(Double($0) / 1_000) kW" } ?? "none")")
            }
            if let pile, let shown = power.piles.first(where: { $0.pileID == pile }) {
                print("station \(id): pile \(pile) minimum power \(Double(shown.minimumPowerWatts) / 1_000) kW")
            }
        }

        /// kW above 0 as whole W, or nil for `none`.
        static func watts(_ text: String, option: String, none: String) throws -> Int64? {
            if text == none { return nil }
            guard let kW = Double(text), kW.isFinite, kW > 0, (kW * 1_000).rounded() >= 1,
                  kW * 1_000 <= Double(StationSettings.maximumPowerLimitWatts) else {
                throw ValidationError("\(option) is a number of kW above 0, or \(none)")
            }
            return Int64((kW * 1_000).rounded())
        }
    }
}
