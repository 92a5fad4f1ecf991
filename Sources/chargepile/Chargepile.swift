import ArgumentParser

/// chargepile: the EV charging station backend.
@main
struct Chargepile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chargepile",
        abstract: "EV charging station backend: admin API, pile WebSockets, scheduling and billing on PostgreSQL.",
        subcommands: [Serve.self, Migrate.self, Admin.self, Pile.self, Stations.self, Tag.self, Reservation.self, Firmware.self, Diagnostics.self, Simulate.self, Demo.self])
}
