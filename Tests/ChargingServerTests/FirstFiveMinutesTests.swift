import EmbeddedPostgres
import Foundation
import LocalCluster
import Logging
import PileSimulator
import Testing
import TestSupport

/// What a new user does after the two commands: the default first start on the embedded database,
/// `chargepile sim --protocol ocpp1.6` with no password given, and what `sim` says when refused.
@Suite("The first five minutes", .serialized)
struct FirstFiveMinutesTests {
    @Test("a default first start keeps each pile's own password in pile-secrets (0600, not printed); sim reads it and drives all five piles")
    func simDrivesTheDefaultStation() async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let dataFolder = folder.appendingPathComponent("data").path
        let serve = try await ServeProcess.start(
            name: "serve", databaseURL: "",  // empty: no DATABASE_URL, so serve starts the embedded PostgreSQL
            environment: ["CHARGEPILE_DATA_DIR": dataFolder, "CHARGEPILE_ADMIN_PASSWORD": TestServer.adminPassword,
                          "CHARGEPILE_PILE_PASSWORD": "", "LOG_LEVEL": "info"],
            logDirectory: folder, timeout: .seconds(180))
        defer {
            serve.stop()
            // serve stops the embedded server it started; should it have died, stop it here.
            try? EmbeddedPostgres(dataDirectory: dataFolder + "/postgres").stop()
        }

        let file = PileSecretsFile(path: dataFolder + "/pile-secrets")
        let mode = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let secrets = try file.read()
        #expect(secrets.keys.sorted() == [1, 2, 3, 4, 5])
        #expect(Set(secrets.values).count == 5, "each pile its own password")
        let log = try String(contentsOfFile: serve.logFile, encoding: .utf8)
        #expect(log.contains("pile passwords (a distinct one per pile): in \(file.path)"))
        #expect(!secrets.values.contains { log.contains($0) }, "the pile passwords are not printed")

        // No --password-file, no CHARGEPILE_PILE_PASSWORD: sim takes each pile's from the file.
        let sim = try SimProcess(["--protocol", "ocpp1.6", "--url", serve.url], dataFolder: dataFolder, in: folder, name: "sim")
        defer { sim.stop() }
        let token = try await Self.adminToken(serve.url)
        try await eventually("all five piles connected", timeout: .seconds(60)) {
            let piles = try await HTTP.call(.get, serve.url + "/admin/charge/status/get", ["token": token])["data"] as? [[String: Any]] ?? []
            return piles.count == 5 && piles.allSatisfy { $0["connected"] as? Bool == true }
        }
        let reply = try await HTTP.call(.post, serve.url + "/admin/charge/status/set", ["token": token, "id": "1", "status": "on"])
        #expect(reply["code"] as? Int == 200, "\(reply)")
        #expect(sim.output.contains("sim: pile passwords from \(file.path)"))

        // A wrong password: sim says what the server answered, not a list of possible causes.
        let wrong = folder.appendingPathComponent("wrong-password")
        try "not-the-password\n".write(to: wrong, atomically: true, encoding: .utf8)
        let refused = try SimProcess(
            ["--protocol", "ocpp1.6", "--url", serve.url, "--piles", "2-2", "--password-file", wrong.path],
            dataFolder: dataFolder, in: folder, name: "sim-refused")
        defer { refused.stop() }
        try await eventually("sim refused and exited", timeout: .seconds(60)) { !refused.isRunning }
        #expect(refused.status != 0)
        #expect(refused.output.contains("pile 2 connect failed ws://127.0.0.1:\(serve.port)/ocpp/2: the server refused the upgrade with HTTP 401 Unauthorized"),
                "\(refused.output)")
    }

    @Test("a refused charger upgrade carries the HTTP status and the server's text: 401, 404")
    func refusalCarriesTheStatus() async throws {
        try await TestServer.run { api in
            var logger = Logger(label: "test.charger")
            logger.logLevel = .critical
            for (chargePointID, password, status) in [("1", "wrong", 401), ("no-such-charger", TestServer.pilePassword, 404)] {
                let charger = SimulatedChargePoint(
                    .init(baseURL: api.baseURL, pileID: 1, chargePointID: chargePointID, password: password, powerKW: 30), logger: logger)
                do {
                    try await charger.run()
                    Issue.record("\(chargePointID): the upgrade was not refused")
                } catch let refusal as OCPPUpgradeRefused {
                    #expect(refusal.status == status)
                    #expect(refusal.body.hasPrefix("\(status) "), "the server's text: \(refusal.body)")
                    #expect("\(refusal)".contains("HTTP \(status)"))
                }
            }
        }
    }

    @Test("the pile-secrets file: written 0600 with one line per pile, read back, one pile updated, bad lines named")
    func pileSecretsFile() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = PileSecretsFile(path: folder.appendingPathComponent("new/pile-secrets").path)
        #expect(!file.exists)
        try file.write([2: "second", 1: "first"], comment: "a test")
        #expect(try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int == 0o600)
        #expect(try file.read() == [1: "first", 2: "second"])
        try file.update(pileID: 2, password: "changed")
        #expect(try file.read() == [1: "first", 2: "changed"])
        #expect(try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int == 0o600)

        try "# comment\n\n1 ok\nnot a line\n".write(toFile: file.path, atomically: true, encoding: .utf8)
        #expect(throws: PileSecretsFileError.self) { try file.read() }
        #expect(PileSecretsFile.standard(environment: ["CHARGEPILE_DATA_DIR": "/srv/cp"]).path == "/srv/cp/pile-secrets")
        #expect(PileSecretsFile.standard(environment: [:]).path.hasSuffix("/.chargepile/pile-secrets"))
    }

    /// A fresh folder the postgres user can traverse (the embedded server runs as postgres under root).
    static func folder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("chargepile-first-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        return folder
    }

    static func adminToken(_ baseURL: String) async throws -> String {
        let reply = try await HTTP.call(.post, baseURL + "/a/login", ["username": "admin", "password": TestServer.adminPassword])
        guard let token = reply["token"] as? String else { throw TestFailure("admin login failed: \(reply)") }
        return token
    }
}

/// `chargepile sim …` as a child process, its output (both streams) in a file.
final class SimProcess: Sendable {
    private let process: Process
    private let logFile: String

    init(_ arguments: [String], dataFolder: String, in folder: URL, name: String) throws {
        logFile = folder.appendingPathComponent("\(name).log").path
        _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        process = Process()
        process.executableURL = URL(fileURLWithPath: ServeProcess.binary)
        process.arguments = ["sim"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["CHARGEPILE_DATA_DIR"] = dataFolder
        environment["CHARGEPILE_PILE_PASSWORD"] = nil
        process.environment = environment
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var isRunning: Bool { process.isRunning }
    var status: Int32 { process.terminationStatus }
    var output: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}
