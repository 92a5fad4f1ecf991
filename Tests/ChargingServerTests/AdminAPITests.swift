import Foundation
import Testing

@Suite("Admin API (seed v1.0.0)")
struct AdminAPITests {
    @Test("login accepts multipart, urlencoded and JSON; wrong credentials get -1")
    func login() async throws {
        try await TestServer.run { api in
            for body: TestAPI.Body in [
                .multipart(["username": "admin", "password": TestServer.adminPassword]),
                .form(["username": "admin", "password": TestServer.adminPassword]),
                .json(#"{"username": "admin", "password": "\#(TestServer.adminPassword)"}"#),
            ] {
                let reply = try await api.call(.post, "/a/login", body: body)
                #expect(reply.httpStatus == 200)
                #expect(reply.code == 200)
                #expect(reply.msg == "登录成功")
                let token = try #require(reply.token)
                #expect(token.count == 64 && token.allSatisfy(\.isHexDigit))
            }
            let wrong = try await api.call(.post, "/a/login", body: .form(["username": "admin", "password": "nope"]))
            #expect(wrong.code == -1)
            #expect(wrong.msg == "用户名或密码错误")
            #expect(wrong.token == nil)
            let unknown = try await api.call(.post, "/a/login", body: .form(["username": "ghost", "password": "nope"]))
            #expect(unknown.msg == "用户名或密码错误")
            let missing = try await api.call(.post, "/a/login", body: .form(["username": "admin"]))
            #expect(missing.code == -1)
            #expect(missing.msg == "缺少参数: password")
            let malformed = try await api.call(.post, "/a/login", body: .json("{not json"))
            #expect(malformed.code == -1)
        }
    }

    @Test("a DBA can add an admin in psql with pgcrypto's crypt()")
    func pgcryptoHash() async throws {
        try await TestServer.run { api in
            try await api.pool.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")
            try await api.pool.execute("INSERT INTO admins (username, password_hash) VALUES ('dba', crypt('from-psql', gen_salt('bf')))")
            let reply = try await api.call(.post, "/a/login", body: .form(["username": "dba", "password": "from-psql"]))
            #expect(reply.code == 200)
            #expect(reply.token != nil)
        }
    }

    @Test("status/get lists every pile by id with the seed's keys and JSON types")
    func statusGet() async throws {
        try await TestServer.run { api in
            let token = try await api.adminToken()
            let reply = try await api.call(.get, "/admin/charge/status/get", query: ["token": token])
            #expect(reply.code == 200)
            #expect(reply.msg == "获取成功")
            let rows = reply.rows
            #expect(rows.map { $0["charging_station_id"] as? Int } == [1, 2, 3, 4, 5])
            for row in rows {
                #expect(row["status"] as? String == "offline")
                #expect(row["total_charging_times"] as? Int == 0)
                #expect(row["total_charging_power"] is NSNumber)
                #expect(row["total_charging_duration"] is NSNumber)
            }
            #expect(rows.map { $0["kind"] as? String } == ["F", "F", "T", "T", "T"])
            #expect(rows.map { $0["power_kw"] as? Double } == [30, 30, 10, 10, 10])
            // Bearer works as well as the query parameter.
            let bearer = try await api.call(.get, "/admin/charge/status/get", headers: [.authorization: "Bearer \(token)"])
            #expect(bearer.code == 200)
        }
    }

    @Test("tokens: missing, unknown, expired and wrong-role tokens are refused")
    func tokens() async throws {
        try await TestServer.run { api in
            let missing = try await api.call(.get, "/admin/charge/status/get")
            #expect(missing.code == -1)
            #expect(missing.msg == "token无效或已过期")
            let unknown = try await api.call(.get, "/admin/charge/status/get", query: ["token": String(repeating: "ab", count: 32)])
            #expect(unknown.msg == "token无效或已过期")
            let token = try await api.adminToken()
            try await api.pool.execute("UPDATE auth_tokens SET expires_at = now() - interval '1 second'")
            let expired = try await api.call(.get, "/admin/charge/status/get", query: ["token": token])
            #expect(expired.msg == "token无效或已过期")
            let pileToken = try await api.pileToken(1)
            let wrongRole = try await api.call(.get, "/admin/charge/status/get", query: ["token": pileToken])
            #expect(wrongRole.msg == "token无效或已过期")
            // Tokens are stored hashed: the plain token is nowhere in the table.
            let stored = try await api.pool.query("SELECT count(*) AS n FROM auth_tokens WHERE encode(token_hash, 'hex') = \(pileToken)")
            #expect(try stored.first!.decode("n", as: Int.self) == 0)
        }
    }

    @Test("queue: the pile's cars; bad, unknown and missing ids get -1")
    func queue() async throws {
        try await TestServer.run { api in
            let token = try await api.adminToken()
            let empty = try await api.call(.get, "/admin/charge/queue", query: ["token": token, "id": "1"])
            #expect(empty.code == 200)
            #expect(empty.rows.isEmpty)
            let wrongType = try await api.call(.get, "/admin/charge/queue", query: ["token": token, "id": "abc"])
            #expect(wrongType.code == -1)
            #expect(wrongType.msg == "参数格式错误: id")
            let unknown = try await api.call(.get, "/admin/charge/queue", query: ["token": token, "id": "99"])
            #expect(unknown.msg == "充电桩不存在")
            let missing = try await api.call(.get, "/admin/charge/queue", query: ["token": token])
            #expect(missing.msg == "缺少参数: id")
        }
    }

    @Test("status/set validates, and refuses a pile with no live WebSocket; nothing changes")
    func statusSetRefusals() async throws {
        try await TestServer.run { api in
            let token = try await api.adminToken()
            let before = try await api.databaseFingerprint()
            let cases: [([String: String], String)] = [
                (["id": "1", "status": "on"], "充电桩离线"),
                (["id": "1", "status": "broken"], "参数格式错误: status"),
                (["id": "99", "status": "on"], "充电桩不存在"),
                (["id": "1; DROP TABLE piles; --", "status": "on"], "参数格式错误: id"),
                (["id": "1", "status": "on' OR '1'='1"], "参数格式错误: status"),
                (["status": "on"], "缺少参数: id"),
                (["id": "1"], "缺少参数: status"),
            ]
            for (parameters, message) in cases {
                let reply = try await api.call(.post, "/admin/charge/status/set", query: parameters.merging(["token": token]) { $1 })
                #expect(reply.code == -1)
                #expect(reply.msg == message)
            }
            #expect(try await api.databaseFingerprint() == before)
        }
    }

    @Test("a huge body, SQL-looking strings and unknown paths never crash the instance")
    func hostileInput() async throws {
        try await TestServer.run { api in
            let huge = String(repeating: "a", count: 1_000_000)
            let tooLarge = try await api.call(.post, "/a/login", body: .raw("username=\(huge)", contentType: "application/x-www-form-urlencoded"))
            #expect(tooLarge.code == -1)
            #expect(tooLarge.msg == "请求体过大")
            let sql = try await api.call(.post, "/a/login", body: .form(["username": "admin' --", "password": "' OR 1=1 --"]))
            #expect(sql.msg == "用户名或密码错误")
            let nul = try await api.call(.post, "/a/login", body: .form(["username": "ad\u{0}min", "password": "x"]))
            #expect(nul.msg == "参数格式错误: username")
            let nested = try await api.call(.post, "/a/login", body: .json(#"{"username": {"a": 1}, "password": "x"}"#))
            #expect(nested.msg == "参数格式错误: username")
            // A lone NUL in JSON once passed for "a nested value" and crashed the instance (schemathesis found it).
            let jsonNUL = try await api.call(.post, "/a/login", body: .json(#"{"username": "\u0000", "password": "x", "x": {"y": [1]}}"#))
            #expect(jsonNUL.msg == "参数格式错误: username")
            let nestedPassword = try await api.call(.post, "/a/login", body: .json(#"{"username": "admin", "password": ["x"]}"#))
            #expect(nestedPassword.msg == "参数格式错误: password")
            // An id beyond int4 is a bad parameter, not a query PostgreSQL rejects (schemathesis found it).
            let admin = try await api.adminToken()
            for path in ["/admin/ocpp/security-events", "/admin/reports", "/admin/bills", "/admin/commands"] {
                let outOfRange = try await api.call(.get, path, query: ["token": admin, "pile_id": "2147483648"])
                #expect(outOfRange.msg == "参数格式错误: pile_id", "\(path)")
            }
            let notFound = try await api.call(.get, "/admin/nothing")
            #expect(notFound.httpStatus == 404)
            let stillAlive = try await api.call(.post, "/a/login", body: .form(["username": "admin", "password": TestServer.adminPassword]))
            #expect(stillAlive.code == 200)
        }
    }
}
