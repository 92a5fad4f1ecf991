import ArgumentParser

/// chargepile-bench: benchmarks that each compare against a reference measured in the same run.
/// They start `chargepile serve` children of the build next to this executable (`$CHARGEPILE_BIN` overrides it).
@main
struct ChargepileBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chargepile-bench",
        abstract: "Benchmarks that compare against a reference measured in the same run.",
        subcommands: [BenchDatabase.self, BenchRouting.self, BenchPiles.self, BenchEngine.self, BenchLoad.self, BenchStorm.self, BenchStormProbes.self])
}
