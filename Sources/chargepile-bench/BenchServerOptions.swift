import ArgumentParser

/// Where the benchmarks' scratch database lives and how their `serve` children start.
struct BenchServerOptions: ParsableArguments {
    @Option(help: "libpq connection string or URI of the server (default: DATABASE_URL, else the embedded server).")
    var databaseURL: String?

    @Option(
        name: .customLong("server-prefix"),
        help: "Profiling: run each instance under this command, e.g. 'perf record -g -o perf-{name}.data' ({name}: the instance).")
    var serverPrefix: String?
}
