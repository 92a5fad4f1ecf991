import ArgumentParser
import ChargingStore
import Foundation

/// `chargepile firmware update|status` and `chargepile diagnostics get`: operations over OCPP chargers,
/// written to the database; the running instances carry them out (`OCPPOperationsService`).
struct Firmware: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Roll firmware out to OCPP chargers (UpdateFirmware), and follow rollouts.", subcommands: [Update.self, Status.self])

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send UpdateFirmware to piles (at most --max-concurrent installing at once); the running instances carry it out.")
        @OptionGroup var target: OperationTarget
        @Option(help: "Where the chargers download the firmware (a URI).") var location: String
        @Option(name: .customLong("retrieve-at"), help: "Not before (ISO-8601; default: when each charger is sent it).") var retrieveAt: String?
        @OptionGroup var limits: OperationLimits

        func run() async throws {
            let retrieveDate = try retrieveAt.map { text in
                guard let date = try? Date(text, strategy: .iso8601) else { throw ValidationError("--retrieve-at must be ISO-8601") }
                return date
            }
            try await createOperation(.firmware, location: location, retrieveAt: retrieveDate, target: target, limits: limits)
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each pile of an operation: its state, the charger's status, since when.")
        @Option(help: "The operation (default: the latest firmware rollout).") var operation: Int64?

        func run() async throws {
            try await withMigratedPool { pool in
                let rows = try await OCPPOperationStore(pool: pool).progress(operationID: operation, kind: operation == nil ? .firmware : nil)
                guard let first = rows.first else {
                    print("no such operation")
                    return
                }
                print("operation \(first.operationID) (\(first.kind)) \(first.location)")
                for row in rows {
                    print("  pile \(row.pileID)  \(row.state)  since \(row.stateSince.formatted(.iso8601))  status \(row.status ?? "-")"
                          + (row.error.map { "  (\($0))" } ?? ""))
                }
            }
        }
    }
}

struct Diagnostics: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask OCPP chargers to upload their diagnostics (GetDiagnostics).", subcommands: [Get.self])

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send GetDiagnostics to piles (follow it with `firmware status --operation N`).")
        @OptionGroup var target: OperationTarget
        @Option(help: "Where the chargers upload the file (a URI, e.g. ftp://…).") var location: String
        @OptionGroup var limits: OperationLimits

        func run() async throws {
            try await createOperation(.diagnostics, location: location, retrieveAt: nil, target: target, limits: limits)
        }
    }
}

struct OperationTarget: ParsableArguments {
    @Option(help: "Comma-separated pile ids.") var piles: String?
    @Option(help: "Every pile of this station that speaks OCPP.") var station: Int?

    func validate() throws {
        guard (piles == nil) != (station == nil) else { throw ValidationError("give --piles or --station") }
    }

    var pileIDs: [Int]? {
        get throws {
            try piles.map { text in
                let ids = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard !ids.isEmpty, !ids.contains(nil) else { throw ValidationError("--piles takes comma-separated pile ids") }
                return ids.compactMap { $0 }
            }
        }
    }
}

struct OperationLimits: ParsableArguments {
    @Option(help: "How often a charger retries the transfer.") var retries: Int?
    @Option(name: .customLong("retry-interval"), help: "Seconds between its retries.") var retryInterval: Int?
    @Option(name: .customLong("max-concurrent"), help: "Chargers under way at once.") var maxConcurrent = OCPPOperationStore.defaultMaxConcurrent
    @Option(name: .customLong("status-timeout"), help: "Seconds a charger may stay silent before it is asked for its status (TriggerMessage).")
    var statusTimeout = OCPPOperationStore.defaultStatusTimeoutSeconds
}

private func createOperation(_ kind: OCPPOperationStore.Kind, location: String, retrieveAt: Date?, target: OperationTarget,
                             limits: OperationLimits) async throws {
    let request = OCPPOperationStore.Request(
        kind: kind, location: location, retrieveAt: retrieveAt, retries: limits.retries, retryInterval: limits.retryInterval,
        maxConcurrent: limits.maxConcurrent, statusTimeoutSeconds: limits.statusTimeout)
    if let field = request.invalidField { throw ValidationError("--\(field.replacingOccurrences(of: "_", with: "-")) is out of range") }
    let pileIDs = try target.pileIDs
    try await withMigratedPool { pool in
        do {
            let (id, piles) = try await OCPPOperationStore(pool: pool).create(request, pileIDs: pileIDs, stationID: target.station)
            print("operation \(id): \(kind.rawValue) for piles \(piles.map(String.init).joined(separator: ",")); "
                  + "follow it with: chargepile firmware status --operation \(id)")
        } catch OCPPOperationStore.CreateError.notOCPP(let piles) {
            throw ValidationError("not OCPP piles (never connected over OCPP, or unknown): \(piles.map(String.init).joined(separator: ","))")
        } catch OCPPOperationStore.CreateError.noPiles {
            throw ValidationError("station \(target.station ?? 0) has no OCPP piles")
        }
    }
}
