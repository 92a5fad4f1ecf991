import ArgumentParser
import Foundation
import HTTPTypes
import Logging
import PileSimulator
import Synchronization
import WSClient

/// `chargepile-bench storm-probes`, started by `storm`: OCPP chargers connected straight to instance B
/// that boot, then send a StatusNotification (a new `info` each time, so each is a write) every
/// --interval, one CALL in flight each. Prints a line per CALL: when it was sent (CLOCK_MONOTONIC, ns)
/// and its answer's latency in ns (-1: refused or unanswered). The pile password comes in
/// CHARGEPILE_PILE_PASSWORD.
struct BenchStormProbes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storm-probes", abstract: "The reconnect storm's probes, in a process of their own (started by storm).",
        shouldDisplay: false)

    @Option var url: String
    @Option var first: Int
    @Option var count: Int
    @Option var interval: Double

    func run() async throws {
        guard let password = ProcessInfo.processInfo.environment["CHARGEPILE_PILE_PASSWORD"] else {
            throw ValidationError("CHARGEPILE_PILE_PASSWORD is not set")
        }
        let output = ProbeOutput()
        await withTaskGroup(of: Void.self) { group in
            for pileID in first..<(first + count) {
                group.addTask { await probe(pileID: pileID, password: password, output: output) }
            }
        }
    }

    private func probe(pileID: Int, password: String, output: ProbeOutput) async {
        var logger = Logger(label: "chargepile.bench.storm.probe")
        logger.logLevel = .critical
        let identity = String(pileID)
        var headers = HTTPFields()
        headers[HTTPField.Name("Sec-WebSocket-Protocol")!] = OCPPHandshake.subprotocol
        headers[.authorization] = OCPPHandshake.authorization(chargePointID: identity, password: password)
        guard let url = try? OCPPHandshake.webSocketURL(baseURL: url, chargePointID: identity) else { return }
        let period = Duration.seconds(interval)
        let client = WebSocketClient(url: url, configuration: .init(maxFrameSize: 1 << 16, additionalHeaders: headers),
                                     logger: logger) { inbound, outbound, _ in
            var messages = inbound.messages(maxSize: 1 << 16).makeAsyncIterator()
            func call(_ action: String, _ payload: String) async throws -> String? {
                let id = UUID().uuidString
                try await outbound.write(.text(#"[2,"\#(id)","\#(action)",\#(payload)]"#))
                while let message = try await messages.next() {
                    guard case .text(let text) = message else { continue }
                    if text.hasPrefix("[3,\"\(id)\"") { return text }
                    if text.hasPrefix("[4,\"\(id)\"") { return nil }
                }
                return nil
            }
            guard try await call("BootNotification", #"{"chargePointVendor":"bench","chargePointModel":"probe"}"#)?
                .contains("Accepted") == true
            else { return }
            var sequence = 0
            let clock = ContinuousClock()
            while !Task.isCancelled {
                sequence += 1
                let sentAt = monotonicNanoseconds()
                let sent = clock.now
                let answer = try await call("StatusNotification",
                                            #"{"connectorId":1,"errorCode":"NoError","status":"Available","info":"probe \#(sequence)"}"#)
                output.line("\(sentAt) \(answer == nil ? -1 : (clock.now - sent).inNanoseconds)")
                try await Task.sleep(until: sent + period, clock: .continuous)
            }
        }
        _ = try? await client.run()
    }
}

/// Whole lines to standard output, one writer at a time.
final class ProbeOutput: Sendable {
    private let lock = Mutex<Void>(())

    func line(_ text: String) {
        lock.withLock { _ in FileHandle.standardOutput.write(Data((text + "\n").utf8)) }
    }
}
