import ArgumentParser
import ChargingServer
import ChargingStore
import Foundation

/// `chargepile reservation add|list|cancel`: an operator keeps a pile for a driver over a window; the station
/// dispatches no other driver's car onto the pile whose charging would overlap it.
struct Reservation: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Keep a pile for a driver over a time window (station time); list and cancel such reservations.",
        subcommands: [Add.self, List.self, Cancel.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reserve a pile for a driver from --from to --to (ISO-8601, station time; at most 31 days).")
        @Option(help: "The pile's id.") var pile: Int
        @Option(help: "The driver (username) the pile is kept for.") var driver: String
        @Option(help: "Start (ISO-8601, e.g. 2026-12-07T08:00:00+08:00).") var from: String
        @Option(help: "End (ISO-8601), after the start and after now.") var to: String

        func run() async throws {
            let start = try isoDate(from, "--from"), end = try isoDate(to, "--to")
            var id: Int64 = 0
            try await withStations { id = try await $0.reserve(pileID: pile, driver: driver, from: start, to: end) }
            print("reservation \(id): pile \(pile) kept for \(driver) from \(start.formatted(.iso8601)) to \(end.formatted(.iso8601))")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The reservations still to come or under way (with --all, every one).")
        @Option(help: "Only this pile's.") var pile: Int?
        @Flag(help: "Ended and cancelled ones too.") var all = false

        func run() async throws {
            try await withMigratedPool { pool in
                let windows = try await ReservationStore(pool: pool).windows(pileID: pile, all: all)
                if windows.isEmpty { print("no reservations") }
                for window in windows {
                    print("\(window.id)  pile \(window.pileID)  \(window.driver)  \(window.startsAt.formatted(.iso8601)) – "
                          + "\(window.endsAt.formatted(.iso8601))  \(window.state)")
                }
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End a reservation now; cars it held back may be placed at once.")
        @Argument(help: "The reservation's id (from `reservation list`).") var id: Int64

        func run() async throws {
            try await withStations { try await $0.cancelReservation(id: id) }
            print("reservation \(id) cancelled")
        }
    }
}

private func isoDate(_ text: String, _ option: String) throws -> Date {
    guard let date = try? Date(text, strategy: .iso8601) else { throw ValidationError("\(option) must be ISO-8601") }
    return date
}

/// Runs `body` with a station service on the database; its refusals are the command's errors.
private func withStations(_ body: (StationService) async throws -> Void) async throws {
    do {
        try await withMigratedPool { pool in
            try await body(StationService(store: .init(pool: pool), offlineGrace: ServerConfiguration().offlineGrace,
                                          logger: makeLogger("chargepile")))
        }
    } catch let error as APIError {
        throw ValidationError(error.message)
    }
}
