import ArgumentParser
import Logging
import PileSimulator

/// `chargepile sim`: simulated piles that log in, hold their WebSockets and print every frame.
struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Simulate charging piles over the pile WebSocket protocol, printing every frame.",
        discussion: """
            Each frame a pile receives is printed as `pile <id> <- <json>`, each frame it sends as \
            `pile <id> -> <json>`, and each close as `pile <id> closed <code or -> <reason>`. \
            Runs until every pile has stopped, or Ctrl-C.
            """)

    @Option(help: "The server's HTTP base URL.") var url = "http://127.0.0.1:8080"
    @Option(help: "Piles to simulate: a range (1-5), a list (1,3,4) or a count N (piles 1…N; one pile: 4-4).") var piles = "1-5"
    @OptionGroup(title: "The piles' password (else $CHARGEPILE_PILE_PASSWORD, else a prompt)") var password: PasswordSource
    @Flag(name: .customLong("turn-on"), help: "After welcome, press each pile's own `on` button.") var turnOn = false
    @Flag(help: "Log in and reconnect 1 s after a socket closes or a login fails, except after `set_status offline`.")
    var reconnect = false
    @Option(
        name: .customLong("meter-interval"),
        help: "Seconds between meter frames while a car charges (fast 30 kW, slow 10 kW); 0 sends none.")
    var meterInterval: Double = 0
    @Flag(name: .customLong("no-ack"), help: "Do not answer set_status with ack.") var noAck = false
    @Option(name: .customLong("log-level"), help: "Log level on standard error (trace … critical).") var logLevel = "notice"

    func validate() throws {
        guard PileFleet.pileIDs(parsing: piles) != nil else {
            throw ValidationError("--piles must be a range (1-5), a list (1,3,4) or a count, with ids ≥ 1")
        }
        guard meterInterval >= 0, meterInterval.isFinite else { throw ValidationError("--meter-interval must be ≥ 0") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
    }

    func run() async throws {
        let password = try password.read(environment: "CHARGEPILE_PILE_PASSWORD", prompt: "pile password: ")
        var logger = Logger(label: "chargepile.sim")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .notice

        let fleet = PileFleet(
            PileFleet.Configuration(
                baseURL: url,
                pileIDs: PileFleet.pileIDs(parsing: piles) ?? [],
                password: password,
                autoAck: !noAck,
                turnOn: turnOn,
                reconnect: reconnect,
                meterInterval: meterInterval > 0 ? .seconds(meterInterval) : nil),
            logger: logger,
            onFrame: { pileID, direction, text in
                PileTranscript.write(PileTranscript.line(pileID: pileID, direction: direction, text: text))
            })
        async let drained: Void = {
            for await fleetEvent in fleet.events {
                if case .closed(let code, let reason) = fleetEvent.event {
                    PileTranscript.write("pile \(fleetEvent.pileID) closed \(code.map(String.init) ?? "-") \(reason ?? "")")
                }
            }
        }()
        try await fleet.run()
        await drained
    }
}
