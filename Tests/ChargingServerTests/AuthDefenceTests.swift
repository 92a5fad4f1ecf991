import ChargingServer
import ChargingStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresClient
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Issue 10, items 3, 4, 5, 6 and 10, as an attacker runs them: password guessing against one
/// account from many addresses and against many accounts from one address, spoofed
/// `X-Forwarded-For`, a login flood, stolen tokens after logout or a password change, look-alike
/// usernames, over-long passwords. Durations are small here; every wait polls with a deadline.
@Suite("Authentication defences", .serialized)
struct AuthDefenceTests {
    static let tooMany = "尝试次数过多，请稍后再试"

    /// Small, fast limits: 2 free failures, then 50 ms doubling, the 4th failure locks for 10 s (long
    /// enough that a busy machine checks the lock before it lapses).
    static func fastDefence(_ configuration: inout ServerConfiguration) {
        configuration.loginDefence.accountFreeFailures = 2
        configuration.loginDefence.accountLockAt = 4
        configuration.loginDefence.addressFreeFailures = 1000
        configuration.loginDefence.addressLockAt = 1000
        configuration.loginDefence.baseDelay = .milliseconds(50)
        configuration.loginDefence.maxDelay = .milliseconds(100)
        // Longer than a busy machine takes for the guesses below: a lockout that ends mid-loop lets a 5th through.
        configuration.loginDefence.lockout = .seconds(30)
        configuration.loginDefence.window = .seconds(60)
        configuration.trustedProxies = try! TrustedNetworks(["127.0.0.1"])
    }

    /// A login over a raw socket (form body), as a script would send it; the client address claimed by `forwardedFor`.
    static func rawLogin(port: Int, path: String = "/a/login", username: String, password: String,
                         forwardedFor: String? = nil) async throws -> [String: Any] {
        let body = "username=\(TestAPI.escape(username))&password=\(TestAPI.escape(password))"
        var head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        if let forwardedFor { head += "X-Forwarded-For: \(forwardedFor)\r\n" }
        head += "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
        let answer = try await RawHTTP.exchange(port: port, bytes: Array((head + body).utf8))
        guard let split = answer.range(of: "\r\n\r\n") else { throw TestFailure("no HTTP answer: \(answer)") }
        let json = String(answer[split.upperBound...])
        return (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] ?? ["raw": answer]
    }

    @Test("guessing one account's password from many addresses: growing delays, then a lockout that every instance honours")
    func accountLockoutAcrossInstances() async throws {
        try await TestServer.run(configure: Self.fastDefence) { api in
            let port = api.client.port!
            // A second instance on the same database.
            var configuration = TestServer.configuration()
            Self.fastDefence(&configuration)
            var logger = Logger(label: "test.second")
            logger.logLevel = .warning
            let second = try await buildApplication(configuration: configuration, databaseURL: api.databaseURL, logger: logger)
            try await second.test(.live) { client2 in
                let port2 = client2.port!
                var answers: [String] = []
                // A botnet: every guess from another address, alternating instances, as fast as it can.
                for guess in 0..<40 {
                    let reply = try await Self.rawLogin(port: guess % 2 == 0 ? port : port2, username: "admin", password: "guess-\(guess)",
                                                        forwardedFor: "198.51.100.\(guess + 1)")
                    #expect(reply["code"] as? Int == -1)
                    answers.append(reply["msg"] as? String ?? "")
                    if answers.filter({ $0 == Self.tooMany }).count >= 5,
                       try await api.pool.query("SELECT coalesce(locked_until > now(), false) AS locked FROM auth_throttle WHERE scope = 'account'")
                           .first?.decode("locked", as: Bool.self) == true { break }
                }
                // Only a few guesses were checked at all; the rest were refused without bcrypt.
                let checked = answers.filter { $0 == "用户名或密码错误" }.count
                #expect(checked <= 4, "\(answers)")
                #expect(answers.contains(Self.tooMany))
                // Locked: the right password is refused too, on both instances.
                for target in [port, port2] {
                    let locked = try await Self.rawLogin(port: target, username: "admin", password: TestServer.adminPassword,
                                                         forwardedFor: "192.0.2.7")
                    #expect(locked["msg"] as? String == Self.tooMany)
                }
                // The lockout ends by itself (30 s here).
                try await eventually("the lockout ends", timeout: .seconds(90)) {
                    try await Self.rawLogin(port: port2, username: "admin", password: TestServer.adminPassword,
                                            forwardedFor: "192.0.2.7")["code"] as? Int == 200
                }
                // A success clears the account's count.
                let counters = try await api.pool.query("SELECT count(*) AS n FROM auth_throttle WHERE scope = 'account'").first!
                #expect(try counters.decode("n", as: Int.self) == 0)
            }
        }
    }

    @Test("many accounts from one address: the address is delayed and locked; X-Forwarded-For from an untrusted peer changes nothing")
    func addressLockoutAndSpoofedForwardedFor() async throws {
        try await TestServer.run(configure: { configuration in
            configuration.loginDefence.accountFreeFailures = 1000
            configuration.loginDefence.accountLockAt = 1000
            configuration.loginDefence.addressFreeFailures = 3
            configuration.loginDefence.addressLockAt = 5
            configuration.loginDefence.baseDelay = .milliseconds(20)
            configuration.loginDefence.maxDelay = .milliseconds(40)
            configuration.loginDefence.lockout = .seconds(1)
            // No trusted proxy: X-Forwarded-For is the client's own claim.
        }) { api in
            let port = api.client.port!
            var refused = 0
            for guess in 0..<40 {
                // A new spoofed address and a new username each time: only the socket's address counts.
                let reply = try await Self.rawLogin(port: port, path: "/u/login", username: "victim\(guess)", password: "x-\(guess)",
                                                    forwardedFor: "203.0.113.\(guess + 1)")
                if reply["msg"] as? String == Self.tooMany { refused += 1 }
                if refused >= 3 { break }
            }
            #expect(refused >= 3)
            let addresses = try await api.pool.query("SELECT DISTINCT client_address FROM auth_events").map { try $0.decode("client_address", as: String.self) }
            #expect(addresses == ["127.0.0.1"])
            // The lockout ends by itself.
            try await eventually("the address lockout ends", timeout: .seconds(15)) {
                try await Self.rawLogin(port: port, path: "/a/login", username: "admin", password: TestServer.adminPassword)["code"] as? Int == 200
            }
        }
    }

    @Test("the audit trail: every attempt in auth_events (never the password), counted in /metrics by role and outcome")
    func auditTrail() async throws {
        try await TestServer.run(configure: Self.fastDefence) { api in
            let port = api.client.port!
            let secretGuess = "hunter2-not-the-password"
            _ = try await Self.rawLogin(port: port, username: "admin", password: secretGuess, forwardedFor: "192.0.2.10")
            _ = try await Self.rawLogin(port: port, username: "nobody", password: secretGuess, forwardedFor: "192.0.2.10")
            let good = try await Self.rawLogin(port: port, username: "admin", password: TestServer.adminPassword, forwardedFor: "192.0.2.11")
            let token = try #require(good["token"] as? String)
            _ = try await Self.rawLogin(port: port, path: "/p/login", username: "", password: "x")  // no id: missing parameter
            let pile = try await api.call(.post, "/p/login", body: .form(["id": "3", "password": "wrong"]))
            #expect(pile.msg == "用户名或密码错误")

            let rows = try await api.pool.query("""
                SELECT role, event, username, client_address, outcome FROM recent_auth_events ORDER BY id
                """).map { "\(try $0.decode("role", as: String.self)) \(try $0.decode("event", as: String.self)) "
                    + "\(try $0.decode("username", as: String.self)) \(try $0.decode("client_address", as: String.self)) "
                    + "\(try $0.decode("outcome", as: String.self))" }
            #expect(rows == ["admin login admin 192.0.2.10 failure", "admin login nobody 192.0.2.10 failure",
                             "admin login admin 192.0.2.11 success", "pile login 3 127.0.0.1 failure"])
            // Neither the password nor the token is stored anywhere in the trail.
            let leaked = try await api.pool.query("""
                SELECT count(*) AS n FROM auth_events e WHERE row_to_json(e)::text LIKE \("%" + secretGuess + "%")
                   OR row_to_json(e)::text LIKE \("%" + token + "%") OR row_to_json(e)::text LIKE \("%" + TestServer.adminPassword + "%")
                """).first!
            #expect(try leaked.decode("n", as: Int.self) == 0)

            let text = try await RawHTTP.exchange(port: port, bytes: Array("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
            #expect(text.contains(#"chargepile_auth_events_total{event="login",role="admin",outcome="failure"}"#))
            #expect(text.contains(#"chargepile_auth_events_total{event="login",role="admin",outcome="success"}"#))
            #expect(!text.contains(secretGuess))
        }
    }

    @Test("/metrics: loopback reads it; a client forwarded by the proxy (nginx) gets 404")
    func metricsOnlyForTrustedClients() async throws {
        try await TestServer.run(configure: { $0.trustedProxies = try! TrustedNetworks(["127.0.0.1"]) }) { api in
            let port = api.client.port!
            let local = try await RawHTTP.exchange(port: port, bytes: Array("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
            #expect(local.hasPrefix("HTTP/1.1 200"))
            let proxied = try await RawHTTP.exchange(port: port, bytes: Array(
                "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 8.8.8.8\r\nConnection: close\r\n\r\n".utf8))
            #expect(proxied.hasPrefix("HTTP/1.1 404"), "\(proxied.prefix(40))")
            // A client can't claim loopback through the proxy: the proxy appends the real address last.
            let claimed = try await RawHTTP.exchange(port: port, bytes: Array(
                "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 127.0.0.1, 8.8.4.4\r\nConnection: close\r\n\r\n".utf8))
            #expect(claimed.hasPrefix("HTTP/1.1 404"), "\(claimed.prefix(40))")
        }
    }

    @Test("a login flood is answered quickly (busy past the bounded queue); correct logins and other endpoints still get through")
    func loginFlood() async throws {
        try await TestServer.run(configure: { configuration in
            configuration.passwordHasher = PasswordHasher(cost: 8, concurrency: 1, maxWaiting: 2)
            configuration.trustedProxies = try! TrustedNetworks(["127.0.0.1"])
        }) { api in
            let port = api.client.port!
            let start = ContinuousClock.now
            let answers = try await withThrowingTaskGroup(of: (String, Duration).self) { group in
                for attacker in 0..<24 {
                    group.addTask {
                        let begin = ContinuousClock.now
                        let reply = try await Self.rawLogin(port: port, username: "user\(attacker)", password: "guess",
                                                            forwardedFor: "198.18.\(attacker / 200).\(attacker % 200 + 1)")
                        return (reply["msg"] as? String ?? "", ContinuousClock.now - begin)
                    }
                }
                // Meanwhile: the probes answer, and the admin gets in (it may be told to retry while the flood lasts).
                let health = try await RawHTTP.exchange(port: port, bytes: Array("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
                #expect(health.hasPrefix("HTTP/1.1 200"))
                var answers: [(String, Duration)] = []
                for try await answer in group { answers.append(answer) }
                return answers
            }
            #expect(answers.contains { $0.0 == "服务繁忙，请稍后再试" }, "\(answers.map(\.0))")
            #expect(answers.allSatisfy { $0.0 == "服务繁忙，请稍后再试" || $0.0 == "用户名或密码错误" })
            // Nobody waited for the whole flood: the queue holds 2, so an answer comes after at most a few hashes.
            #expect(answers.map(\.1).max()! < .seconds(20), "\(answers.map(\.1).max()!)")
            _ = start
            try await eventually("the admin logs in", timeout: .seconds(10)) {
                try await Self.rawLogin(port: port, username: "admin", password: TestServer.adminPassword, forwardedFor: "192.0.2.99")["code"]
                    as? Int == 200
            }
        }
    }

    @Test("logout on every role revokes the token; a pile's socket is closed once its token is revoked")
    func logoutEverywhere() async throws {
        try await TestServer.run(configure: { $0.tokenCheckInterval = .milliseconds(50) }) { api in
            // Driver.
            let registered = try await api.call(.post, "/u/register", body: .form(["username": "dora", "password": "dora-secret", "battery_capacity": "60"]))
            #expect(registered.code == 200)
            let driver = try #require(try await api.call(.post, "/u/login", body: .form(["username": "dora", "password": "dora-secret"])).token)
            #expect(try await api.call(.get, "/user/charge/bills", query: ["token": driver]).code == 200)
            let out = try await api.call(.post, "/u/logout", headers: [.authorization: "Bearer \(driver)"])
            #expect(out.code == 200)
            #expect(out.msg == "退出成功")
            #expect(try await api.call(.get, "/user/charge/bills", query: ["token": driver]).msg == "token无效或已过期")
            #expect(try await api.call(.post, "/u/logout", query: ["token": driver]).msg == "token无效或已过期")
            // A driver token can't log out an admin or a pile.
            let driver2 = try #require(try await api.call(.post, "/u/login", body: .form(["username": "dora", "password": "dora-secret"])).token)
            #expect(try await api.call(.post, "/a/logout", query: ["token": driver2]).msg == "token无效或已过期")
            #expect(try await api.call(.post, "/p/logout", query: ["token": driver2]).msg == "token无效或已过期")

            // Pile: its open socket is closed with 1008 after /p/logout.
            let pileToken = try await api.pileToken(2)
            let socket = try await RawWebSocket.open(port: api.client.port!, path: "/p/ws?token=\(pileToken)")
            let welcome = try #require(try await socket.receive())
            #expect(welcome.text.contains("welcome"))
            #expect(try await api.call(.post, "/p/logout", query: ["token": pileToken]).code == 200)
            #expect(try await Self.closeCode(socket) == 1008)
            // The token can't open a new socket either.
            let (refused, _) = try await RawWebSocket.handshake(port: api.client.port!, path: "/p/ws?token=\(pileToken)")
            #expect(refused == nil)

            // Admin.
            let admin = try await api.adminToken()
            #expect(try await api.call(.post, "/a/logout", body: .form(["token": admin])).code == 200)
            #expect(try await api.call(.get, "/admin/charge/status/get", query: ["token": admin]).msg == "token无效或已过期")
        }
    }

    @Test("a new password revokes the account's tokens (admin add, pile add, psql) and closes the pile's socket")
    func passwordChangeRevokes() async throws {
        try await TestServer.run(configure: { $0.tokenCheckInterval = .milliseconds(50) }) { api in
            let admin = try await api.adminToken()
            let other = try await api.adminToken()
            // `chargepile admin add admin` on the existing admin (any case of the name).
            try await AccountStore(pool: api.pool).upsertAdmin(username: "ADMIN", passwordHash: try await PasswordHasher(cost: 4).hash("new-admin-secret"))
            for token in [admin, other] {
                #expect(try await api.call(.get, "/admin/charge/status/get", query: ["token": token]).msg == "token无效或已过期")
            }
            let fresh = try await api.call(.post, "/a/login", body: .form(["username": "admin", "password": "new-admin-secret"]))
            #expect(fresh.code == 200)
            let count = try await api.pool.query("SELECT count(*) AS n FROM admins").first!
            #expect(try count.decode("n", as: Int.self) == 1)

            // A pile's new password (as `pile add` or a DBA sets it) closes its socket.
            let pileToken = try await api.pileToken(4)
            let socket = try await RawWebSocket.open(port: api.client.port!, path: "/p/ws?token=\(pileToken)")
            _ = try await socket.receive()
            let hash = try await PasswordHasher(cost: 4).hash("new-pile-secret")
            try await api.pool.execute("UPDATE piles SET password_hash = \(hash) WHERE id = 4")
            #expect(try await Self.closeCode(socket) == 1008)
        }
    }

    @Test("expired tokens are purged on schedule and an expired pile token's socket is closed")
    func expiredTokens() async throws {
        try await TestServer.run(configure: { configuration in
            configuration.tokenLifetime = .seconds(2)
            configuration.tokenCheckInterval = .milliseconds(50)
            configuration.tokenPurgeInterval = .milliseconds(50)
        }) { api in
            let pileToken = try await api.pileToken(5)
            let socket = try await RawWebSocket.open(port: api.client.port!, path: "/p/ws?token=\(pileToken)")
            _ = try await socket.receive()
            #expect(try await Self.closeCode(socket, within: .seconds(10)) == 1008)
            try await eventually("expired tokens purged") {
                try await api.pool.query("SELECT count(*) AS n FROM auth_tokens").first!.decode("n", as: Int.self) == 0
            }
        }
    }

    @Test("usernames: NFC, trimmed, case-insensitively unique, no control characters; passwords over 72 bytes refused")
    func usernamesAndPasswords() async throws {
        try await TestServer.run { api in
            func register(_ name: String, _ password: String = "secret-1") async throws -> TestAPI.Reply {
                try await api.call(.post, "/u/register", body: .json(
                    String(decoding: try JSONSerialization.data(withJSONObject: ["username": name, "password": password, "battery_capacity": "60"]), as: UTF8.self)))
            }
            func login(_ name: String, _ password: String = "secret-1") async throws -> TestAPI.Reply {
                try await api.call(.post, "/u/login", body: .json(
                    String(decoding: try JSONSerialization.data(withJSONObject: ["username": name, "password": password]), as: UTF8.self)))
            }
            #expect(try await register("  Alice ").code == 200)
            #expect(try await register("alice").msg == "用户名已存在")
            #expect(try await register("ALICE").msg == "用户名已存在")
            #expect(try await login("alice").code == 200)
            #expect(try await login(" ALICE").code == 200)
            let stored = try await api.pool.query("SELECT username FROM drivers").map { try $0.decode("username", as: String.self) }
            #expect(stored == ["Alice"])

            // Decomposed é (e + U+0301) and precomposed é are one name.
            #expect(try await register("e\u{301}mile").code == 200)
            #expect(try await register("\u{e9}mile").msg == "用户名已存在")
            #expect(try await login("\u{e9}mile").code == 200)

            for bad in ["bob\u{7}", "bo\nb", "a\u{202e}b", "\u{200b}", "   ", String(repeating: "x", count: 65)] {
                #expect(try await register(bad).msg == "参数格式错误: username", "\(bad.debugDescription)")
            }
            // bcrypt reads 72 bytes: a longer password is refused, never silently truncated.
            let long = String(repeating: "p", count: 72) + "-extra"
            #expect(try await register("longpw", long).msg == "密码不能超过72字节")
            #expect(try await register("longpw", String(repeating: "é", count: 37)).msg == "密码不能超过72字节")  // 74 bytes
            #expect(try await login("Alice", long).msg == "密码不能超过72字节")
            #expect(try await register("longpw", String(repeating: "p", count: 72)).code == 200)

            // The database refuses a case-variant duplicate even from psql.
            await #expect(throws: (any Error).self) {
                try await api.pool.execute("INSERT INTO drivers (username, password_hash, battery_capacity_kwh) VALUES ('aLiCe', '$2b$x', 1)")
            }
        }
    }

    @Test("registration is limited per client address")
    func registrationLimit() async throws {
        try await TestServer.run(configure: { $0.loginDefence.registrationsPerAddress = 3 }) { api in
            var messages: [String] = []
            for number in 1...5 {
                messages.append(try await api.call(.post, "/u/register",
                                                   body: .form(["username": "bot\(number)", "password": "secret-1", "battery_capacity": "60"])).msg ?? "")
            }
            #expect(messages == ["注册成功", "注册成功", "注册成功", Self.tooMany, Self.tooMany])
        }
    }

    @Test("every route of a role refuses a missing, foreign or bogus token before its handler runs")
    func routesNeedTheirRole() async throws {
        try await TestServer.run { api in
            let pile = try await api.pileToken(1)
            let adminRoutes: [(HTTPRequest.Method, String)] = [
                (.get, "/admin/charge/queue"), (.get, "/admin/charge/status/get"), (.post, "/admin/charge/status/set"),
                (.get, "/admin/charge/waiting"), (.get, "/admin/clock"), (.post, "/admin/clock/advance"), (.post, "/a/logout"),
                (.get, "/admin/piles"), (.get, "/admin/reports"), (.get, "/admin/bills"), (.get, "/admin/commands"),
                (.get, "/admin/events"), (.post, "/admin/ocpp/call"), (.post, "/admin/idtags"),
            ]
            let driverRoutes: [(HTTPRequest.Method, String)] = [
                (.post, "/u/logout"), (.post, "/user/charge/request"), (.get, "/user/charge/request"),
                (.post, "/user/charge/request/modify"), (.post, "/user/charge/request/cancel"), (.get, "/user/charge/bills"),
            ]
            for (method, path) in adminRoutes + driverRoutes {
                for token in [nil, pile, String(repeating: "0", count: 64), "x' OR '1'='1"] {
                    let reply = try await api.call(method, path, query: token.map { ["token": $0] } ?? [:])
                    #expect(reply.msg == "token无效或已过期", "\(method) \(path) with \(token ?? "no token")")
                }
            }
            let before = try await api.databaseFingerprint()
            #expect(try await api.call(.post, "/p/logout", query: ["token": try await api.adminToken()]).msg == "token无效或已过期")
            #expect(try await api.databaseFingerprint() == before)
        }
    }

    @Test("migration 0005 on a database with case- and NFC-duplicates: the oldest keeps the name, the others still log in by exact spelling")
    func migrationKeepsLegacyDuplicates() async throws {
        let pool = PostgresPool(conninfo: try await TestDatabase.makeDatabase(), maxConnections: 2)
        defer { Task { await pool.close() } }
        try await SchemaMigrator(migrations: SchemaMigrator.bundled().filter { $0.version < 5 }).migrate(pool)
        let hash = try await PasswordHasher(cost: 4).hash("secret-1")
        func insert(_ table: String, _ name: String) async throws -> Int64 {
            if table == "admins" {
                return try await pool.query("INSERT INTO admins (username, password_hash) VALUES (\(name), \(hash)) RETURNING id").first!.decode("id")
            }
            return try await pool.query("""
                INSERT INTO drivers (username, password_hash, battery_capacity_kwh) VALUES (\(name), \(hash), 60) RETURNING id
                """).first!.decode("id")
        }
        let root = try await insert("admins", "root")
        let rootUpper = try await insert("admins", "ROOT")
        let bob = try await insert("drivers", "Bob")
        let bobLower = try await insert("drivers", "bob")
        let evaDecomposed = try await insert("drivers", "e\u{301}va")
        let evaComposed = try await insert("drivers", "\u{e9}va")
        let applied = try await SchemaMigrator().migrate(pool)
        #expect(applied.contains(5))

        let flagged = try await pool.query("""
            SELECT id FROM admins WHERE username_legacy_duplicate UNION ALL SELECT id FROM drivers WHERE username_legacy_duplicate ORDER BY 1
            """).map { try $0.decode("id", as: Int64.self) }
        #expect(flagged == [rootUpper, bobLower, evaComposed].sorted())
        let accounts = AccountStore(pool: pool)
        #expect(try await accounts.adminCredentials(username: "ROOT")?.subject == String(rootUpper))
        #expect(try await accounts.adminCredentials(username: "root")?.subject == String(root))
        #expect(try await accounts.adminCredentials(username: "Root")?.subject == String(root))
        #expect(try await accounts.driverCredentials(username: "bob")?.subject == String(bobLower))
        #expect(try await accounts.driverCredentials(username: "BOB")?.subject == String(bob))
        #expect(try await accounts.driverCredentials(username: "\u{e9}va")?.subject == String(evaComposed))
        #expect(try await accounts.driverCredentials(username: "EVA".lowercased())?.subject == nil)
        #expect(try await accounts.driverCredentials(username: "e\u{301}va")?.subject == String(evaDecomposed))
        // No new account can take any spelling of them.
        await #expect(throws: StoreError.usernameTaken) {
            _ = try await accounts.createDriver(username: "BOB", passwordHash: hash, batteryCapacityKWh: 60)
        }
        await #expect(throws: StoreError.usernameTaken) {
            _ = try await accounts.createDriver(username: "\u{e9}VA", passwordHash: hash, batteryCapacityKWh: 60)
        }
    }

    @Test("trusted networks: addresses and CIDR blocks, IPv4, IPv6 and IPv4-mapped; a malformed entry is refused")
    func trustedNetworks() throws {
        let networks = try TrustedNetworks(["10.0.0.0/8", "192.168.1.7", "fd00::/8", "::1"])
        for inside in ["10.1.2.3", "192.168.1.7", "fd12:3456::1", "::1", "::ffff:10.9.9.9", "[::1]"] {
            #expect(networks.contains(inside), "\(inside)")
        }
        for outside in ["11.0.0.1", "192.168.1.8", "fe80::1", "::2", "not-an-address", "", "10.0.0.1; DROP TABLE"] {
            #expect(!networks.contains(outside), "\(outside)")
        }
        for bad in ["10.0.0.0/33", "example.com", "1.2.3.4/x", "::/129"] {
            #expect(throws: TrustedNetworksError.self) { try TrustedNetworks([bad]) }
        }
        #expect(TrustedNetworks.split("127.0.0.1, ::1 10.0.0.0/8") == ["127.0.0.1", "::1", "10.0.0.0/8"])
        #expect(TrustedNetworks.loopback.contains("127.0.0.53") && !TrustedNetworks.none.contains("127.0.0.1"))
    }

    static func closeCode(_ socket: RawWebSocket, within timeout: Duration = .seconds(20)) async throws -> Int? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            // One read for the whole remaining time: a quiet socket is not a closed one.
            guard let frame = try await socket.receive(timeout: deadline - ContinuousClock.now) else { return nil }
            if frame.opcode == RawWebSocket.close { return frame.closeCode }
            if frame.opcode == RawWebSocket.ping { try await socket.send(RawWebSocket.pong, frame.payload) }
        }
        return nil
    }
}

/// One HTTP exchange over a raw socket: writes the bytes, reads until the server closes.
enum RawHTTP {
    static func exchange(port: Int, bytes: [UInt8], timeout: Duration = .seconds(20)) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try exchangeBlocking(port: port, bytes: bytes, timeout: timeout) })
            }
        }
    }

    private static func exchangeBlocking(port: Int, bytes: [UInt8], timeout: Duration) throws -> String {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed") }
        defer { Glibc.close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw TestFailure("connect() failed") }
        var wait = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw TestFailure("send() failed") }
            sent += n
        }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            answer += buffer[0..<n]
        }
        return String(decoding: answer, as: UTF8.self)
    }
}
