import ChargingServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresClient
import TestSupport

/// One live chargepile instance on a brand-new database, with known credentials.
enum TestServer {
    static let adminPassword = "admin-secret"
    static let pilePassword = "pile-secret"

    static func configuration() -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.passwordHasher = PasswordHasher(cost: 4)
        configuration.firstStart.adminPassword = adminPassword
        configuration.firstStart.pilePassword = pilePassword
        // Long enough for a test that plays the charger to answer on a machine busy with the whole suite
        // (at 2 s, an answered ChangeAvailability came back -1 in CI); a test of the deadline sets its own.
        configuration.commandTimeout = .seconds(10)
        configuration.heartbeatInterval = .milliseconds(500)
        // Whole suites register dozens of drivers from 127.0.0.1; AuthDefenceTests set their own limits.
        configuration.loginDefence.registrationsPerAddress = 1000
        return configuration
    }

    /// `databaseURL`: an empty database of the test's own (the failover test's pair), else a new one on the test server.
    static func run<Value: Sendable>(
        databaseURL givenURL: String? = nil,
        configure: (inout ServerConfiguration) -> Void = { _ in },
        _ test: @Sendable (TestAPI) async throws -> Value
    ) async throws -> Value {
        let databaseURL = if let givenURL { givenURL } else { try await TestDatabase.makeDatabase() }
        var configuration = configuration()
        configure(&configuration)
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let app = try await buildApplication(configuration: configuration, databaseURL: databaseURL, logger: logger)
        let pool = PostgresPool(conninfo: databaseURL, maxConnections: 2)
        defer { Task { await pool.close() } }
        return try await app.test(.live) { client in
            try await test(TestAPI(client: client, pool: pool, databaseURL: databaseURL))
        }
    }
}

/// Calls the API as a front-end would and decodes the JSON envelope.
struct TestAPI: Sendable {
    let client: any TestClientProtocol
    let pool: PostgresPool
    let databaseURL: String

    var baseURL: String { "http://127.0.0.1:\(client.port ?? 0)" }

    struct Reply: @unchecked Sendable {
        var httpStatus: Int
        var object: [String: Any]
        var headers: HTTPFields = [:]
        var code: Int? { object["code"] as? Int }
        var msg: String? { object["msg"] as? String }
        var token: String? { object["token"] as? String }
        var data: Any? { object["data"] }
        var rows: [[String: Any]] { data as? [[String: Any]] ?? [] }
    }

    enum Body {
        case none
        case form([String: String])
        case json(String)
        case multipart([String: String])
        case raw(String, contentType: String)
    }

    func call(_ method: HTTPRequest.Method, _ path: String, query: [String: String] = [:], body: Body = .none,
              headers: HTTPFields = [:]) async throws -> Reply {
        var uri = path
        if !query.isEmpty {
            uri += "?" + query.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.escape($0.value))" }.joined(separator: "&")
        }
        var headers = headers
        var buffer: ByteBuffer?
        switch body {
        case .none: break
        case .form(let fields):
            headers[.contentType] = "application/x-www-form-urlencoded"
            buffer = ByteBuffer(string: fields.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.escape($0.value))" }.joined(separator: "&"))
        case .json(let text):
            headers[.contentType] = "application/json"
            buffer = ByteBuffer(string: text)
        case .multipart(let fields):
            let boundary = "----chargepileTestBoundary"
            headers[.contentType] = "multipart/form-data; boundary=\(boundary)"
            var text = ""
            for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
                text += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n"
            }
            buffer = ByteBuffer(string: text + "--\(boundary)--\r\n")
        case .raw(let text, let contentType):
            headers[.contentType] = contentType
            buffer = ByteBuffer(string: text)
        }
        let response = try await client.execute(uri: uri, method: method, headers: headers, body: buffer)
        let bytes = Data(response.body.readableBytesView)
        let object = (try? JSONSerialization.jsonObject(with: bytes)) as? [String: Any] ?? [:]
        return Reply(httpStatus: Int(response.status.code), object: object, headers: response.headers)
    }

    static func escape(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value
    }

    func adminToken() async throws -> String {
        let reply = try await call(.post, "/a/login", body: .multipart(["username": "admin", "password": TestServer.adminPassword]))
        guard let token = reply.token else { throw TestFailure("admin login failed: \(reply.object)") }
        return token
    }

    func pileToken(_ pileID: Int) async throws -> String {
        let reply = try await call(.post, "/p/login", body: .form(["id": "\(pileID)", "password": TestServer.pilePassword]))
        guard let token = reply.token else { throw TestFailure("pile login failed: \(reply.object)") }
        return token
    }

    /// A snapshot of the rows a refused request must not change.
    func databaseFingerprint() async throws -> String {
        try await pool.query("""
            SELECT (SELECT count(*) FROM admins) || '/' || (SELECT count(*) FROM drivers) || '/' ||
                   (SELECT string_agg(id || status || total_charging_times, ',' ORDER BY id) FROM piles) || '/' ||
                   (SELECT count(*) FROM pile_commands) || '/' || (SELECT count(*) FROM charging_requests) || '/' ||
                   (SELECT count(*) FROM bills) AS fingerprint
            """).first!.decode("fingerprint")
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
