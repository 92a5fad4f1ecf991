import ArgumentParser
import ChargingDomain
import ChargingStore
import Foundation

/// `chargepile station add|list`: the operator's sites. Kept apart from other station commands
/// (`station set`) so that each lives in its own subcommand type.
struct Stations: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "station", abstract: "Manage stations (sites): add one, list them, set a power limit.",
        subcommands: [AddStation.self, ListStations.self, SetStation.self])
}

struct AddStation: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Create a station without piles; `pile add ID --station S` provisions its piles.",
        discussion: "Unset options take the default station's rules: M 3, N 10, the standard time-of-use tariff, service fee 0.8.")
    @Argument(help: "The station's number (a positive integer).") var id: Int
    @Option(help: "Its name, as the console and `station list` show it.") var name: String
    @Option(help: "M: cars a pile holds, the charging one included.") var queueLength = StationSettings.standard.queueLength
    @Option(help: "N: cars the waiting area holds.") var waitingArea = StationSettings.standard.waitingCapacity
    @Option(help: "Time-of-use prices per kWh, `name:start-end=price` by local hour, comma-separated, covering each hour once (default: valley:23-7=0.4,flat:7-10=0.7,peak:10-15=1.0,flat:15-18=0.7,peak:18-21=1.0,flat:21-23=0.7).")
    var tariff: String?
    @Option(help: "Service fee per kWh.") var serviceFee: String?
    @Option(help: "The IANA time zone of its tariff hours and its daily reports.") var timeZone = TariffSchedule.standard.timeZoneIdentifier

    func settings() throws -> StationSettings {
        var settings = StationSettings.standard
        settings.piles = []
        settings.queueLength = queueLength
        settings.waitingCapacity = waitingArea
        if let tariff {
            guard let schedule = TariffSchedule(periodsText: tariff, timeZoneIdentifier: timeZone) else {
                throw ValidationError("--tariff: periods are name:start-end=price, comma-separated, e.g. valley:23-7=0.4,day:7-23=0.9")
            }
            settings.tariff = schedule
        } else {
            settings.tariff.timeZoneIdentifier = timeZone
        }
        if let serviceFee {
            guard let fee = Decimal(string: serviceFee, locale: Locale(identifier: "en_US_POSIX")) else {
                throw ValidationError("--service-fee must be a number")
            }
            settings.serviceFeePerKWh = fee
        }
        do throws(StationError) {
            try settings.validateSiteRules()
        } catch {
            throw ValidationError(error.message)
        }
        return settings
    }

    func validate() throws {
        guard id > 0, id <= Int(Int32.max) else { throw ValidationError("station ids are 1 to \(Int32.max)") }
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard (1...100).contains(trimmed.count), !trimmed.contains(where: { $0.isNewline || $0.unicodeScalars.contains { $0.properties.generalCategory == .control } })
        else { throw ValidationError("--name is 1 to 100 characters on one line") }
        _ = try settings()
    }

    func run() async throws {
        let settings = try settings()
        try await withMigratedPool { pool in
            do {
                try await StationDirectory(pool: pool).add(id: id, name: name.trimmingCharacters(in: .whitespaces), settings: settings)
            } catch StoreError.stationExists {
                throw ValidationError("station \(id) exists already")
            }
        }
        print("station \(id) (\(name)) added: M \(settings.queueLength), N \(settings.waitingCapacity), no piles yet; "
              + "add them with: chargepile pile add ID --kind F --station \(id)")
    }
}

struct ListStations: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Every station: its piles by status, its cars, today's energy and revenue.")

    func run() async throws {
        var rows: [StationDirectory.Overview] = []
        try await withMigratedPool { pool in rows = try await StationDirectory(pool: pool).overview() }
        print(Self.table(rows))
    }

    static func table(_ rows: [StationDirectory.Overview]) -> String {
        let header = ["station", "name", "piles", "on", "off", "repair", "offline", "connected", "waiting", "queued", "charging",
                      "kWh today", "revenue today"]
        let lines = rows.map { row in
            ["\(row.stationID)", row.name, "\(row.piles)", "\(row.pilesOn)", "\(row.pilesOff)", "\(row.pilesRepair)",
             "\(row.pilesOffline)", "\(row.pilesConnected)", "\(row.carsWaiting)", "\(row.carsQueued)", "\(row.carsCharging)",
             "\(row.energyKWhToday)", "\(row.revenueToday)"]
        }
        let widths = header.indices.map { column in ([header] + lines).map { displayWidth($0[column]) }.max() ?? 0 }
        return ([header] + lines).map { cells in
            cells.enumerated().map { $1 + String(repeating: " ", count: widths[$0] - displayWidth($1)) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }

    /// Columns a terminal gives the text: East Asian wide characters (a station named 东区) take two.
    static func displayWidth(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { width, scalar in
            let wide: [ClosedRange<UInt32>] = [0x1100...0x115F, 0x2E80...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F,
                                               0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x20000...0x3FFFD]
            return width + (wide.contains { $0.contains(scalar.value) } ? 2 : 1)
        }
    }
}
