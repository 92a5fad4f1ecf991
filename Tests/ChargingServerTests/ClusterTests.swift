import Foundation
import LocalCluster
import Logging
import PileSimulator
import PostgresClient
import Testing
import TestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Several `chargepile serve` processes on one PostgreSQL, as in production: commands
/// cross instances, a newer socket wins anywhere, a killed instance's piles go offline and
/// come back through a survivor, a terminated listener loses nothing, and nginx in front.
@Suite("Cluster of instances", .serialized)
struct ClusterTests {
    @Test("a pile on A is commanded through B")
    func commandAcrossInstances() async throws {
        try await Cluster.run(instances: 2) { cluster in
            let pile = try await cluster.connectPile(1, to: cluster.urls[0])
            let admin = try await cluster.adminToken(cluster.urls[1])
            let reply = try await cluster.setStatus("on", pile: 1, via: cluster.urls[1], token: admin)
            #expect(reply["code"] as? Int == 200)
            guard case .setStatus("on", _) = try await pile.next() else { throw TestFailure("command not delivered") }
            await pile.stop()
        }
    }

    @Test("a newer connection on B replaces the one on A (4000), and commands follow it")
    func replacedAcrossInstances() async throws {
        try await Cluster.run(instances: 2) { cluster in
            let first = try await cluster.connectPile(2, to: cluster.urls[0])
            let second = try await cluster.connectPile(2, to: cluster.urls[1])
            guard case .closed(4000, _) = try await first.next() else { throw TestFailure("older socket on A not replaced") }
            let admin = try await cluster.adminToken(cluster.urls[0])
            let reply = try await cluster.setStatus("repair", pile: 2, via: cluster.urls[0], token: admin)
            #expect(reply["code"] as? Int == 200)
            guard case .setStatus("repair", _) = try await second.next() else { throw TestFailure("command went to the old socket") }
            await second.stop()
        }
    }

    @Test("kill -9 of A: its pile is offline within 15 s, reconnects through B and is controllable")
    func killedInstance() async throws {
        try await Cluster.run(instances: 2) { cluster in
            let pile = try await cluster.connectPile(3, to: cluster.urls[0])
            let admin = try await cluster.adminToken(cluster.urls[1])
            cluster.instances[0].kill()
            let killedAt = ContinuousClock.now
            try await eventually(timeout: .seconds(15)) {
                try await cluster.pileStatus(3, via: cluster.urls[1], token: admin) == "offline"
            }
            #expect(ContinuousClock.now - killedAt < .seconds(15))
            let again = try await cluster.connectPile(3, to: cluster.urls[1])
            let reply = try await cluster.setStatus("on", pile: 3, via: cluster.urls[1], token: admin)
            #expect(reply["code"] as? Int == 200)
            guard case .setStatus("on", _) = try await again.next() else { throw TestFailure("not controllable after reconnect") }
            await again.stop()
            await pile.stop()
        }
    }

    @Test("a graceful stop closes the pile sockets with 1001 and takes the piles offline at once")
    func gracefulStop() async throws {
        try await Cluster.run(instances: 2) { cluster in
            let pile = try await cluster.connectPile(1, to: cluster.urls[0])
            let admin = try await cluster.adminToken(cluster.urls[1])
            cluster.instances[0].stop()
            let closed = try await pile.next()
            guard case .closed(1001, _) = closed else { throw TestFailure("not closed with 1001: \(closed)") }
            #expect(try await cluster.pileStatus(1, via: cluster.urls[1], token: admin) == "offline")
            let instances: Int = try await cluster.pool.query("SELECT count(*) AS n FROM instances").first!.decode("n")
            #expect(instances == 1)
            await pile.stop()
        }
    }

    @Test("a terminated listener backend loses no command")
    func listenerTerminated() async throws {
        try await Cluster.run(instances: 2) { cluster in
            let pile = try await cluster.connectPile(4, to: cluster.urls[0])
            let admin = try await cluster.adminToken(cluster.urls[1])
            let terminated: Int = try await cluster.pool.query("""
                SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity
                WHERE datname = current_database() AND application_name = 'chargepile-listener'
                """).first!.decode("n")
            #expect(terminated == 2)
            for status in ["on", "off", "repair", "on"] {
                let reply = try await cluster.setStatus(status, pile: 4, via: cluster.urls[1], token: admin)
                #expect(reply["code"] as? Int == 200, "\(status): \(reply)")
                guard case .setStatus(status, _) = try await pile.next() else { throw TestFailure("\(status) lost") }
            }
            let outcomes: [String] = try await cluster.pool.query("SELECT state FROM pile_commands WHERE pile_id = 4 ORDER BY id")
                .map { try $0.decode("state") }
            #expect(outcomes == ["written", "written", "written", "written"])
            await pile.stop()
        }
    }

    @Test("the engine's start_charging survives a terminated listener: a row, replayed, delivered exactly once")
    func engineInstructionAcrossListenerLoss() async throws {
        try await Cluster.run(instances: 2) { cluster in
            let pile = try await cluster.connectPile(3, to: cluster.urls[0])
            let admin = try await cluster.adminToken(cluster.urls[1])
            #expect(try await cluster.setStatus("on", pile: 3, via: cluster.urls[1], token: admin)["code"] as? Int == 200)
            guard case .setStatus("on", _) = try await pile.next() else { throw TestFailure("pile not turned on") }
            _ = try await HTTP.call(.post, cluster.urls[1] + "/u/register", ["username": "erin", "password": "secret-pass", "battery_capacity": "60"])
            let driver = try #require(try await HTTP.call(.post, cluster.urls[1] + "/u/login", ["username": "erin", "password": "secret-pass"])["token"] as? String)

            // The owner's listener goes away right before the engine decides; its NOTIFY may be lost, the row is not.
            let terminated: Int = try await cluster.pool.query("""
                SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity
                WHERE datname = current_database() AND application_name = 'chargepile-listener'
                """).first!.decode("n")
            #expect(terminated == 2)
            let submitted = try await HTTP.call(.post, cluster.urls[1] + "/user/charge/request", ["token": driver, "mode": "T", "request_quantity": "10"])
            #expect(submitted["code"] as? Int == 200, "\(submitted)")
            guard case .startCharging(_, "erin", "T1", _) = try await pile.next(timeout: .seconds(10)) else { throw TestFailure("start_charging lost") }
            // Rows for one pile are delivered in order: a later command arriving first-and-only proves no duplicate start.
            #expect(try await cluster.setStatus("on", pile: 3, via: cluster.urls[1], token: admin)["code"] as? Int == 200)
            let next = try await pile.next()
            guard case .setStatus("on", _) = next else { throw TestFailure("expected only the marker command, got \(next)") }
            let rows: [String] = try await cluster.pool.query("""
                SELECT state FROM pile_commands WHERE pile_id = 3 AND instruction->'startCharging' IS NOT NULL ORDER BY id
                """).map { try $0.decode("state") }
            #expect(rows == ["written"])
            await pile.stop()
        }
    }

    @Test("a client flooding pings without reading leaves the server's memory within a few MB, and other piles are served")
    func pingFloodMemory() async throws {
        try await Cluster.run(instances: 1) { cluster in
            let server = cluster.instances[0]
            let port = Int(server.url.split(separator: ":").last!)!
            let login = try await HTTP.call(.post, server.url + "/p/login", ["id": "1", "password": TestServer.pilePassword])
            let token = try #require(login["token"] as? String)
            let flooder = try await RawWebSocket.open(port: port, path: "/p/ws?token=\(token)")
            #expect(try await flooder.receive()?.text.contains("welcome") == true)
            let other = try await cluster.connectPile(2, to: server.url)
            let before = try Self.residentKiB(server.pid)
            // 200,000 pings with 100-byte payloads (24 MB), written in bursts, none of the answers read.
            for _ in 0..<10 { try await flooder.send(RawWebSocket.ping, Array(repeating: 0x70, count: 100), times: 20_000) }
            let admin = try await cluster.adminToken(server.url)
            #expect(try await cluster.setStatus("on", pile: 2, via: server.url, token: admin)["code"] as? Int == 200)
            guard case .setStatus("on", _) = try await other.next() else { throw TestFailure("the other pile was not served") }
            let grown = try Self.residentKiB(server.pid) - before
            #expect(grown < 8 * 1024, "the server grew by \(grown) KiB")
            await other.stop()
        }
    }

    /// VmRSS of a process, in KiB.
    static func residentKiB(_ pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { throw TestFailure("no VmRSS for \(pid)") }
        return kib
    }

    @Test("behind nginx: a pile connects through it and admin commands through it reach the pile")
    func behindNginx() async throws {
        try await Cluster.run(instances: 2, nginx: true) { cluster in
            let front = try #require(cluster.nginxURL)
            let pile = try await cluster.connectPile(5, to: front)
            let admin = try await cluster.adminToken(front)
            for status in ["on", "repair", "off"] {
                let reply = try await cluster.setStatus(status, pile: 5, via: front, token: admin)
                #expect(reply["code"] as? Int == 200)
                guard case .setStatus(status, _) = try await pile.next() else { throw TestFailure("\(status) not delivered") }
            }
            #expect(try await cluster.pileStatus(5, via: front, token: admin) == "off")
            await pile.stop()
        }
    }
}

/// N `chargepile serve` processes (and optionally nginx) on loopback, on a fresh database.
struct Cluster: Sendable {
    let instances: [ServeProcess]
    let nginx: NginxProcess?
    let pool: PostgresPool
    var urls: [String] { instances.map(\.url) }
    var nginxURL: String? { nginx?.url }

    static func run(instances count: Int, nginx: Bool = false, databaseURL: String? = nil,
                    _ body: @Sendable (Cluster) async throws -> Void) async throws {
        let databaseURL = if let databaseURL { databaseURL } else { try await TestDatabase.makeDatabase() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chargepile-cluster-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var instances: [ServeProcess] = []
        var front: NginxProcess?
        let pool = PostgresPool(conninfo: databaseURL, maxConnections: 2)
        defer {
            for instance in instances { instance.stop() }
            front?.stop()
            Task { await pool.close() }
        }
        for index in 0..<count {
            instances.append(try await ServeProcess.start(
                name: "instance\(index)", databaseURL: databaseURL,
                environment: ["CHARGEPILE_ADMIN_PASSWORD": TestServer.adminPassword, "CHARGEPILE_PILE_PASSWORD": TestServer.pilePassword,
                              "LOG_LEVEL": "info"],
                logDirectory: directory, arguments: ["--command-timeout", "3"]))
        }
        if nginx {
            front = try await NginxProcess.start(upstreams: instances.map(\.port), directory: directory)
        }
        try await body(Cluster(instances: instances, nginx: front, pool: pool))
    }

    /// A simulated pile logged in through `baseURL`, once it has been welcomed (status `off`).
    func connectPile(_ pileID: Int, to baseURL: String) async throws -> ConnectedPile {
        var logger = Logger(label: "test.pile")
        logger.logLevel = .warning
        let simulated = SimulatedPile(PileSimulatorConfiguration(baseURL: baseURL, pileID: pileID, password: TestServer.pilePassword),
                                      logger: logger)
        let task = Task { _ = try? await simulated.run() }
        let pile = ConnectedPile(simulated: simulated, task: task, events: EventReader(simulated.events))
        let welcome = try await pile.next(timeout: .seconds(10))
        guard welcome == .welcome(status: "off") else { throw TestFailure("pile \(pileID) not welcomed through \(baseURL): \(welcome)") }
        return pile
    }

    func adminToken(_ baseURL: String) async throws -> String {
        let reply = try await HTTP.call(.post, baseURL + "/a/login", ["username": "admin", "password": TestServer.adminPassword])
        guard let token = reply["token"] as? String else { throw TestFailure("admin login failed: \(reply)") }
        return token
    }

    /// `POST /admin/charge/status/set` through `baseURL`; the JSON answer.
    func setStatus(_ status: String, pile pileID: Int, via baseURL: String, token: String) async throws -> [String: Any] {
        try await HTTP.call(.post, baseURL + "/admin/charge/status/set", ["token": token, "id": "\(pileID)", "status": status])
    }

    func pileStatus(_ pileID: Int, via baseURL: String, token: String) async throws -> String? {
        let reply = try await HTTP.call(.get, baseURL + "/admin/charge/status/get", ["token": token])
        return (reply["data"] as? [[String: Any]])?.first { $0["charging_station_id"] as? Int == pileID }?["status"] as? String
    }
}

/// nginx in front of the instances, with WebSocket upgrade on /p/ws, all files in a temp folder.
final class NginxProcess: Sendable {
    let process: Process
    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }

    init(process: Process, port: Int) {
        self.process = process
        self.port = port
    }

    static func start(upstreams: [Int], directory: URL) async throws -> NginxProcess {
        let port = try LoopbackPort.free()
        let prefix = directory.path
        let servers = upstreams.map { "        server 127.0.0.1:\($0) max_fails=1 fail_timeout=2s;" }.joined(separator: "\n")
        let configuration = """
            worker_processes 1;
            daemon off;
            pid \(prefix)/nginx.pid;
            error_log \(prefix)/nginx-error.log warn;
            events { worker_connections 1024; }
            http {
                access_log off;
                client_body_temp_path \(prefix)/body;
                proxy_temp_path \(prefix)/proxy;
                fastcgi_temp_path \(prefix)/fastcgi;
                uwsgi_temp_path \(prefix)/uwsgi;
                scgi_temp_path \(prefix)/scgi;
                upstream chargepile {
            \(servers)
                }
                server {
                    listen 127.0.0.1:\(port);
                    location ~ ^/(p/ws|ocpp/) {
                        proxy_pass http://chargepile;
                        proxy_http_version 1.1;
                        proxy_set_header Upgrade $http_upgrade;
                        proxy_set_header Connection "upgrade";
                        proxy_read_timeout 1h;
                    }
                    location / {
                        proxy_pass http://chargepile;
                        proxy_http_version 1.1;
                        proxy_set_header Connection "";
                    }
                }
            }
            """
        let file = directory.appendingPathComponent("nginx.conf")
        try configuration.write(to: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ["/usr/sbin/nginx", "/usr/bin/nginx"].first { FileManager.default.fileExists(atPath: $0) }
                                    ?? "/usr/sbin/nginx")
        process.arguments = ["-c", file.path, "-p", prefix]
        try process.run()
        let nginx = NginxProcess(process: process, port: port)
        try await eventually(timeout: .seconds(10)) { (try? await HTTP.call(.get, nginx.url + "/healthz", [:], raw: true)) != nil }
        return nginx
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}

/// A small HTTP client for talking to child processes (form bodies, JSON answers).
enum HTTP {
    enum Method: String { case get = "GET", post = "POST" }

    static func call(_ method: Method, _ url: String, _ parameters: [String: String], raw: Bool = false) async throws -> [String: Any] {
        let encoded = parameters.sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0.value)" }
            .joined(separator: "&")
        var request = URLRequest(url: URL(string: method == .get && !encoded.isEmpty ? url + "?" + encoded : url)!)
        request.httpMethod = method.rawValue
        request.timeoutInterval = 10
        if method == .post {
            request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(encoded.utf8)
        }
        let (data, _) = try await URLSession.shared.data(for: request)
        if raw { return [:] }
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TestFailure("not a JSON object: \(String(decoding: data, as: UTF8.self))")
        }
        return object
    }
}
