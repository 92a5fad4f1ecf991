import ArgumentParser
import EmbeddedPostgres
import Foundation
import Logging
import PileSimulator

/// `chargepile sim`: simulated piles that log in, hold their WebSockets and print every frame.
struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Simulate charging piles over the pile WebSocket protocol or OCPP 1.6J, printing every frame.",
        discussion: """
            Each frame a pile receives is printed as `pile <id> <- <json>`, each frame it sends as \
            `pile <id> -> <json>`, and each close as `pile <id> closed <code or -> <reason>`. \
            Runs until every pile has stopped, or Ctrl-C.

            With --protocol ocpp1.6 each pile is an OCPP 1.6J charge point on /ocpp/<pile number> \
            (subprotocol ocpp1.6, HTTP Basic with the pile password): BootNotification, \
            StatusNotification (Available with --turn-on, else Unavailable until switched on), \
            Heartbeat, Start/StopTransaction on RemoteStart/Stop, MeterValues while charging with \
            --meter-interval; every CSMS call is answered. Piles 1-2 charge at 30 kW, the rest at 10 kW \
            (--fast-piles). A failed handshake prints `pile <id> connect failed <why>`: the HTTP status \
            and text the server answered.

            The piles' passwords: --password-file, else $CHARGEPILE_PILE_PASSWORD (one for all piles), \
            else each pile's own from the file the first start of `serve` on the embedded database wrote \
            (./.chargepile/pile-secrets, or under $CHARGEPILE_DATA_DIR; --pile-secrets FILE for another), \
            else a prompt.
            """)

    enum PileProtocol: String, ExpressibleByArgument, CaseIterable {
        case chargepile
        case ocpp16 = "ocpp1.6"
    }

    @Option(name: .customLong("protocol"), help: "The piles' protocol: chargepile (our JSON frames on /p/ws) or ocpp1.6.")
    var pileProtocol: PileProtocol = .chargepile
    @Option(help: "The server's HTTP base URL (OCPP: its ws:// form is used).") var url = "http://127.0.0.1:8080"
    @Option(help: "Piles to simulate: a range (1-5), a list (1,3,4) or a count N (piles 1…N; one pile: 4-4).") var piles = "1-5"
    @OptionGroup(title: "One password for all piles (else $CHARGEPILE_PILE_PASSWORD, else the pile-secrets file, else a prompt)")
    var password: PasswordSource
    @Option(name: .customLong("pile-secrets"),
            help: "A file of `<pile id> <password>` lines (default: the one the first start wrote, ./.chargepile/pile-secrets or under $CHARGEPILE_DATA_DIR).")
    var pileSecrets: String?
    @Flag(name: .customLong("turn-on"), help: "After welcome, press each pile's own `on` button (OCPP: Available after Boot, else Unavailable).")
    var turnOn = false
    @Flag(help: """
        Log in and reconnect after a socket closes or a login fails, except after `set_status offline`: \
        jittered exponential backoff (1 s doubling to 30 s, each wait a random time between half and all of it; \
        back to 1 s once connected). A login answered `retry_after` (OCPP: a Boot answered Pending) waits what the server said.
        """)
    var reconnect = false
    @Option(
        name: .customLong("meter-interval"),
        help: "Seconds between meter frames (OCPP: MeterValues) while a car charges (fast 30 kW, slow 10 kW); 0 sends none.")
    var meterInterval: Double = 0
    @Option(name: .customLong("fast-piles"), help: "OCPP: the piles that charge at 30 kW (the others 10 kW).")
    var fastPiles = "1-2"
    @Option(name: .customLong("ocpp-ids"), help: "OCPP: the piles' charge point identities, comma-separated in --piles order (default: the pile numbers).")
    var ocppIDs: String?
    @Flag(name: .customLong("no-ack"), help: "Do not answer set_status with ack (chargepile protocol).") var noAck = false
    @Option(name: .customLong("log-level"), help: "Log level on standard error (trace … critical).") var logLevel = "notice"

    func validate() throws {
        guard PileFleet.pileIDs(parsing: piles) != nil else {
            throw ValidationError("--piles must be a range (1-5), a list (1,3,4) or a count, with ids ≥ 1")
        }
        guard meterInterval >= 0, meterInterval.isFinite else { throw ValidationError("--meter-interval must be ≥ 0") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        if let ocppIDs {
            let ids = ocppIDs.split(separator: ",", omittingEmptySubsequences: false)
            guard ids.count == PileFleet.pileIDs(parsing: piles)?.count, ids.allSatisfy({ !$0.isEmpty && $0.count <= 20 }) else {
                throw ValidationError("--ocpp-ids needs one identity (1–20 characters) per pile of --piles")
            }
        }
        if pileSecrets != nil, password.passwordFile != nil {
            throw ValidationError("give --password-file (one password for all piles) or --pile-secrets (one per pile), not both")
        }
        guard PileFleet.pileIDs(parsing: fastPiles) != nil else {
            throw ValidationError("--fast-piles must be a range (1-2), a list (1,2) or a count")
        }
    }

    /// One password for every pile, or each pile's own from a pile-secrets file.
    struct Passwords {
        var shared: String
        var perPile: [Int: String]
    }

    func resolvePasswords(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Passwords {
        if pileSecrets == nil, let shared = try password.given(environment: "CHARGEPILE_PILE_PASSWORD") {
            return Passwords(shared: shared, perPile: [:])
        }
        let file = pileSecrets.map(PileSecretsFile.init(path:)) ?? PileSecretsFile.standard(environment: environment)
        if pileSecrets != nil || file.exists {
            let secrets = try file.read()
            let pileIDs = PileFleet.pileIDs(parsing: piles) ?? []
            let missing = pileIDs.filter { secrets[$0] == nil }
            guard missing.isEmpty else {
                throw PileSecretsFileError("\(file.path) has no password for pile \(missing.map(String.init).joined(separator: ", ")); "
                                           + "give --password-file FILE or set CHARGEPILE_PILE_PASSWORD")
            }
            note("pile passwords from \(file.path)")
            return Passwords(shared: "", perPile: secrets.filter { pileIDs.contains($0.key) })
        }
        let shared = try password.read(
            environment: "CHARGEPILE_PILE_PASSWORD", prompt: "pile password: ",
            otherwise: " (there is no \(file.path): `serve` writes it at the first start of an empty embedded database)")
        return Passwords(shared: shared, perPile: [:])
    }

    func run() async throws {
        let passwords = try resolvePasswords()
        var logger = Logger(label: "chargepile.sim")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .notice
        if pileProtocol == .ocpp16 {
            try await runOCPP(passwords: passwords, logger: logger)
            return
        }

        let fleet = PileFleet(
            PileFleet.Configuration(
                baseURL: url,
                pileIDs: PileFleet.pileIDs(parsing: piles) ?? [],
                password: passwords.shared,
                passwords: passwords.perPile,
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

    private func runOCPP(passwords: Passwords, logger: Logger) async throws {
        let pileIDs = PileFleet.pileIDs(parsing: piles) ?? []
        let identities = Dictionary(
            uniqueKeysWithValues: zip(pileIDs, ocppIDs.map { $0.split(separator: ",").map(String.init) } ?? pileIDs.map(String.init)))
        let fleet = OCPPChargerFleet(
            OCPPChargerFleet.Configuration(
                baseURL: url,
                pileIDs: pileIDs,
                password: passwords.shared,
                passwords: passwords.perPile,
                fastPileIDs: Set(PileFleet.pileIDs(parsing: fastPiles) ?? []),
                turnOn: turnOn,
                reconnect: reconnect,
                meterInterval: meterInterval > 0 ? .seconds(meterInterval) : nil,
                chargePointID: { identities[$0] ?? String($0) }),
            logger: logger,
            onFrame: { pileID, direction, text in
                PileTranscript.write(PileTranscript.line(pileID: pileID, direction: direction, text: text))
            })
        async let drained: Void = {
            for await fleetEvent in fleet.events {
                switch fleetEvent.event {
                case .closed(let code, let reason):
                    PileTranscript.write("pile \(fleetEvent.pileID) closed \(code.map(String.init) ?? "-") \(reason ?? "")")
                case .connectFailed(let error):
                    PileTranscript.write("pile \(fleetEvent.pileID) connect failed \(error)")
                default:
                    break
                }
            }
        }()
        try await fleet.run()
        await drained
    }
}

/// A line about what `sim` does, on standard error (standard output is the piles' transcript).
func note(_ line: String) {
    FileHandle.standardError.write(Data(("sim: " + line + "\n").utf8))
}
