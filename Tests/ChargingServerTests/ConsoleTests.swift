import ChargingServer
import Foundation
import Hummingbird
import HummingbirdTesting
import PileSimulator
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The admin console (issue 11): its page, the operator endpoints beside the seed's, CORS,
/// and the live event stream fed by NOTIFY.
@Suite("Admin console")
struct ConsoleTests {
    @Test("/ serves the console page and its files from the bundle, with a strict CSP; unknown files are 404")
    func page() async throws {
        try await TestServer.run { api in
            let page = try await api.client.execute(uri: "/", method: .get, headers: [:], body: nil)
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            #expect(page.headers[.xContentTypeOptions] == "nosniff")
            let html = String(buffer: page.body)
            #expect(html.contains("<html lang=\"zh-CN\">"))
            #expect(html.contains("/console/console.js"))
            for (file, type) in [("console.js", "text/javascript; charset=utf-8"), ("console.css", "text/css; charset=utf-8")] {
                let asset = try await api.client.execute(uri: "/console/\(file)", method: .get, headers: [:], body: nil)
                #expect(asset.status == .ok)
                #expect(asset.headers[.contentType] == type)
                #expect(asset.body.readableBytes > 1000)
            }
            // The script never builds HTML from strings: no innerHTML, outerHTML, insertAdjacentHTML, document.write.
            let script = String(buffer: try await api.client.execute(uri: "/console/console.js", method: .get, headers: [:], body: nil).body)
            for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "localStorage"] {
                #expect(!script.contains(sink), "console.js uses \(sink)")
            }
            for path in ["/console/nope.js", "/console/..%2Fopenapi.yaml", "/console/index.html", "/console/"] {
                let missing = try await api.client.execute(uri: path, method: .get, headers: [:], body: nil)
                #expect(missing.status == .notFound, "\(path)")
            }
        }
    }

    @Test("operator endpoints need an admin token; logout revokes it")
    func tokens() async throws {
        try await TestServer.run { api in
            for path in ["/admin/piles", "/admin/reports", "/admin/bills", "/admin/commands", "/admin/events"] {
                let reply = try await api.call(.get, path)
                #expect(reply.code == -1, "\(path)")
                #expect(reply.msg == "token无效或已过期", "\(path)")
                let driver = try await api.driverToken("d-\(path.count)")
                #expect(try await api.call(.get, path, query: ["token": driver]).code == -1, "\(path) with a driver token")
            }
            let token = try await api.adminToken()
            #expect(try await api.call(.get, "/admin/piles", headers: [.authorization: "Bearer \(token)"]).code == 200)
            let logout = try await api.call(.post, "/a/logout", body: .form(["token": token]))
            #expect(logout.code == 200)
            #expect(logout.msg == "退出成功")
            #expect(try await api.call(.get, "/admin/piles", query: ["token": token]).msg == "token无效或已过期")
            #expect(try await api.call(.post, "/a/logout", body: .form(["token": token])).code == -1)
        }
    }

    @Test("piles, commands, reports and bills: the views' numbers after a session, filters, and bad input as -1")
    func operatorEndpoints() async throws {
        let start = OfficialCase.stationTime("09:00")
        try await TestServer.run(configure: { $0.clock = .init(mode: .manual, start: start) }) { api in
            let admin = try await api.adminToken()
            let pile = try await ConnectedPile.open(api, pileID: 1)
            _ = try await pile.next()
            #expect(try await api.call(.post, "/admin/charge/status/set", query: ["token": admin, "id": "1", "status": "on"]).code == 200)

            let piles = try await api.call(.get, "/admin/piles", query: ["token": admin]).rows
            #expect(piles.map { $0["charging_station_id"] as? Int } == [1, 2, 3, 4, 5])
            let first = try #require(piles.first)
            #expect(first["status"] as? String == "on")
            #expect(first["connected"] as? Bool == true)
            #expect((first["instance"] as? String)?.hasPrefix("127.0.0.1:") == true)
            #expect(first["kind"] as? String == "F")
            #expect(first["power_kw"] as? Double == 30)
            #expect(first["last_command_status"] as? String == "on")
            #expect((first["last_command_outcome"] as? String)?.hasPrefix("written") == true)
            #expect(piles[1]["connected"] as? Bool == false)
            #expect(piles[1]["instance"] is NSNull)

            let commands = try await api.call(.get, "/admin/commands", query: ["token": admin]).rows
            #expect(commands.count == 1)
            #expect(commands.first?["kind"] as? String == "status")
            #expect(commands.first?["pile_id"] as? Int == 1)
            #expect(commands.first?["state"] as? String == "written")
            #expect(commands.first?["latency_ms"] is NSNumber)

            let driver = try await api.driverToken("carol", capacity: "60")
            #expect(try await api.call(.post, "/user/charge/request", query: ["token": driver, "mode": "F", "request_quantity": "10"]).code == 200)
            _ = try await api.call(.post, "/admin/clock/advance", query: ["token": admin, "to": ISO8601Format.string(start.addingTimeInterval(3600))])

            let day = OfficialCase.stationTime("09:00")
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
            let parts = calendar.dateComponents([.year, .month, .day], from: day)
            let date = String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
            let report = try await api.call(.get, "/admin/reports", query: ["token": admin, "granularity": "day"])
            #expect(report.code == 200)
            let row = try #require(report.rows.first)
            #expect(report.rows.count == 1)
            #expect(row["pile_id"] as? Int == 1)
            #expect(row["period"] as? String == date)
            #expect(row["charging_count"] as? Int == 1)
            #expect(row["energy_kwh"] as? Double == 10)
            #expect(row["charging_seconds"] as? Double == 1200)
            #expect(row["service_fee"] as? Double == 8)
            let fees = (row["charging_fee"] as? Double ?? 0) + 8
            #expect(abs((row["total_fee"] as? Double ?? 0) - fees) < 0.001)
            #expect(try await api.call(.get, "/admin/reports", query: ["token": admin, "granularity": "month"]).rows.count == 1)
            #expect(try await api.call(.get, "/admin/reports", query: ["token": admin, "pile_id": "2"]).rows.isEmpty)
            #expect(try await api.call(.get, "/admin/reports", query: ["token": admin, "from": date, "to": date]).rows.count == 1)
            #expect(try await api.call(.get, "/admin/reports", query: ["token": admin, "to": "2000-01-01"]).rows.isEmpty)

            let bills = try await api.call(.get, "/admin/bills", query: ["token": admin]).rows
            #expect(bills.count == 1)
            #expect(bills.first?["user_id"] as? String == "carol")
            #expect(bills.first?["pile_id"] as? Int == 1)
            #expect(bills.first?["energy_kwh"] as? Double == 10)
            #expect(bills.first?["ended_by"] as? String == "completed")
            #expect(try await api.call(.get, "/admin/bills", query: ["token": admin, "driver": "carol", "pile_id": "1", "from": date]).rows.count == 1)
            #expect(try await api.call(.get, "/admin/bills", query: ["token": admin, "driver": "nobody"]).rows.isEmpty)
            #expect(try await api.call(.get, "/admin/bills", query: ["token": admin, "from": "2999-01-01"]).rows.isEmpty)

            // The engine's start/stop went to the pile as rows of the same outbox: in the log with their kind,
            // but the piles' "last command" stays the admin's status command.
            let log = try await api.call(.get, "/admin/commands", query: ["token": admin]).rows
            #expect(log.contains { $0["kind"] as? String == "startCharging" && $0["status"] is NSNull })
            #expect(log.last?["kind"] as? String == "status")
            let statusOnly = try await api.call(.get, "/admin/commands", query: ["token": admin, "kind": "status"]).rows
            #expect(statusOnly.map { $0["status"] as? String } == ["on"])
            let instructions = try await api.call(.get, "/admin/commands", query: ["token": admin, "kind": "instruction"]).rows
            #expect(!instructions.isEmpty && instructions.allSatisfy { $0["kind"] as? String != "status" })
            let afterSession = try await api.call(.get, "/admin/piles", query: ["token": admin]).rows.first
            #expect(afterSession?["last_command_status"] as? String == "on")
            #expect(afterSession?["total_charging_times"] as? Int == 1)

            for (path, name, value) in [
                ("/admin/reports", "granularity", "year"), ("/admin/reports", "from", "2025-02-30"), ("/admin/reports", "to", "20250101"),
                ("/admin/reports", "pile_id", "one"), ("/admin/reports", "limit", "0"), ("/admin/bills", "limit", "100000"),
                ("/admin/bills", "from", "0000-01-01"), ("/admin/bills", "to", "２０２５-01-01"), ("/admin/commands", "pile_id", "99999999999999999999"), ("/admin/commands", "kind", "start"),
            ] {
                let reply = try await api.call(.get, path, query: ["token": admin, name: value])
                #expect(reply.code == -1, "\(path) \(name)=\(value)")
                #expect(reply.msg == "参数格式错误: \(name)", "\(path) \(name)=\(value)")
            }
            await pile.stop()
        }
    }

    @Test("CORS: nothing allowed by default; a configured origin gets its preflight and the header")
    func cors() async throws {
        let preflight: HTTPFields = [.origin: "https://admin.example", .accessControlRequestMethod: "POST",
                                     .accessControlRequestHeaders: "authorization"]
        try await TestServer.run { api in
            let reply = try await api.client.execute(uri: "/admin/clock", method: .get, headers: [.origin: "https://admin.example"], body: nil)
            #expect(reply.status == .ok)
            #expect(reply.headers[.accessControlAllowOrigin] == nil)
            let options = try await api.client.execute(uri: "/admin/charge/status/set", method: .options, headers: preflight, body: nil)
            #expect(options.status != .noContent)
            #expect(options.headers[.accessControlAllowOrigin] == nil)
        }
        try await TestServer.run(configure: { $0.corsOrigins = ["https://admin.example/", "http://localhost:5173"] }) { api in
            let options = try await api.client.execute(uri: "/admin/charge/status/set", method: .options, headers: preflight, body: nil)
            #expect(options.status == .noContent)
            #expect(options.headers[.accessControlAllowOrigin] == "https://admin.example")
            #expect(options.headers[.accessControlAllowMethods]?.contains("POST") == true)
            #expect(options.headers[.accessControlAllowHeaders] == "authorization")
            #expect(options.headers[.vary] == "Origin")
            let login = try await api.client.execute(uri: "/a/login?username=admin&password=\(TestServer.adminPassword)", method: .post,
                                                     headers: [.origin: "http://localhost:5173"], body: nil)
            #expect(login.headers[.accessControlAllowOrigin] == "http://localhost:5173")
            let other = try await api.client.execute(uri: "/admin/clock", method: .get, headers: [.origin: "https://evil.example"], body: nil)
            #expect(other.headers[.accessControlAllowOrigin] == nil)
            let otherPreflight = try await api.client.execute(
                uri: "/admin/clock", method: .options, headers: [.origin: "https://evil.example", .accessControlRequestMethod: "GET"], body: nil)
            #expect(otherPreflight.headers[.accessControlAllowOrigin] == nil)
        }
        #expect(ServerConfigurationCORS.parse(flags: ["https://a.example,https://b.example"], environment: ["CHARGEPILE_CORS_ORIGINS": "https://c.example https://d.example"])
            == ["https://a.example", "https://b.example", "https://c.example", "https://d.example"])
    }

    @Test("the event stream says hello, then pushes a change made by any client, even a DBA's UPDATE, within a second")
    func eventStream() async throws {
        let start = OfficialCase.stationTime("09:00")
        try await TestServer.run(configure: { $0.clock = .init(mode: .manual, start: start) }) { api in
            let admin = try await api.adminToken()
            let refused = try await EventStreamClient.open(port: api.client.port!, path: "/admin/events?token=nope", close: true)
            #expect(refused.head.contains("application/json"))
            #expect(try await refused.readToEnd()?.contains("token无效或已过期") == true)

            let stream = try await EventStreamClient.open(port: api.client.port!, path: "/admin/events?token=\(admin)")
            #expect(stream.head.hasPrefix("HTTP/1.1 200"))
            #expect(stream.head.lowercased().contains("content-type: text/event-stream"))
            let hello = try await stream.nextEvent()
            #expect(hello.name == "hello")
            #expect(hello.data.contains("\"instance\":\"127.0.0.1:"))

            // A driver's request changes the station snapshot: `station`.
            let driver = try await api.driverToken("dave")
            let began = ContinuousClock.now
            #expect(try await api.call(.post, "/user/charge/request", query: ["token": driver, "mode": "T", "request_quantity": "5"]).code == 200)
            let change = try await stream.nextEvent(named: "change")
            #expect(change.data == "station")
            // The stream pushes it (usually within milliseconds); the bound is loose because a busy
            // two-core machine once took 1.1 s. Latency is for benchmarks, not tests.
            #expect(ContinuousClock.now - began < .seconds(20))

            // A DBA's UPDATE in psql rings the same channel: `piles`.
            try await api.pool.execute("UPDATE piles SET status = 'repair' WHERE id = 4")
            #expect(try await stream.nextEvent(named: "change", where: { $0.data == "piles" }).data == "piles")
            // A password reset changes nothing a console shows: no event for it.
            try await api.pool.execute("UPDATE piles SET password_hash = password_hash WHERE id = 4")
            try await api.pool.execute("UPDATE stations SET clock_speed = clock_speed")
            #expect(try await stream.nextEvent(named: "change").data == "station")
        }
    }

    @Test("the event stream ends when the instance stops, so the server can shut down and the browser reconnects elsewhere")
    func eventStreamEndsOnShutdown() async throws {
        let port = try await TestServer.run { api in
            let stream = try await EventStreamClient.open(port: api.client.port!, path: "/admin/events?token=\(try await api.adminToken())")
            #expect(try await stream.nextEvent().name == "hello")
            return (api.client.port!, stream)
        }
        // TestServer.run returned: the application shut down gracefully with the stream open.
        #expect(try await port.1.readToEnd(timeout: .seconds(5)) != nil)
    }
}

/// `CORSOriginsMiddleware`'s configuration parsing, by its public name.
enum ServerConfigurationCORS {
    static func parse(flags: [String], environment: [String: String]) -> [String] {
        ServerConfiguration.corsOrigins(flags: flags, environment: environment)
    }
}

/// A Server-Sent Events client over a blocking POSIX socket (reads run on their own thread),
/// reading events one at a time with a deadline.
final class EventStreamClient: @unchecked Sendable {
    struct Event: Equatable { var name: String; var data: String }

    let head: String
    private let socket: Int32
    private var buffer: [UInt8] = []

    private init(socket: Int32, head: String, rest: [UInt8]) {
        self.socket = socket
        self.head = head
        self.buffer = rest
    }

    deinit { Glibc.close(socket) }

    static func open(port: Int, path: String, close: Bool = false) async throws -> EventStreamClient {
        try await onThread {
            let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw TestFailure("socket() failed") }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { Glibc.close(fd); throw TestFailure("connect() failed") }
            let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAccept: text/event-stream\r\n\(close ? "Connection: close\r\n" : "")\r\n".utf8)
            guard request.withUnsafeBytes({ Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
                Glibc.close(fd)
                throw TestFailure("send failed")
            }
            var bytes: [UInt8] = []
            let separator = Array("\r\n\r\n".utf8)
            while true {
                if let end = bytes.firstRange(of: separator) {
                    return EventStreamClient(socket: fd, head: String(decoding: bytes[..<end.lowerBound], as: UTF8.self),
                                             rest: Array(bytes[end.upperBound...]))
                }
                guard let chunk = receive(fd, timeout: .seconds(5)) else { Glibc.close(fd); throw TestFailure("no response head") }
                bytes += chunk
            }
        }
    }

    /// The next event (comments and keep-alives skipped), within `timeout`.
    func nextEvent(named name: String? = nil, where accept: @escaping @Sendable (Event) -> Bool = { _ in true },
                   timeout: Duration = .seconds(20)) async throws -> Event {
        let deadline = ContinuousClock.now + timeout
        return try await Self.onThread {
            while true {
                if let event = self.takeEvent() {
                    if (name == nil || event.name == name) && accept(event) { return event }
                    continue
                }
                let left = deadline - .now
                guard left > .zero, let chunk = Self.receive(self.socket, timeout: left) else {
                    throw TestFailure("no event\(name.map { " \($0)" } ?? "") within \(timeout); read: \(String(decoding: self.buffer, as: UTF8.self).debugDescription)")
                }
                self.buffer += chunk
            }
        }
    }

    /// Everything until the server closes the connection; nil if it stays open past `timeout`.
    func readToEnd(timeout: Duration = .seconds(20)) async throws -> String? {
        let deadline = ContinuousClock.now + timeout
        return try await Self.onThread {
            while true {
                let left = deadline - .now
                guard left > .zero else { return nil }
                var chunk = [UInt8](repeating: 0, count: 4096)
                Self.setTimeout(self.socket, left)
                let received = chunk.withUnsafeMutableBytes { Glibc.recv(self.socket, $0.baseAddress, $0.count, 0) }
                if received == 0 { return String(decoding: self.buffer, as: UTF8.self) }
                if received < 0 {
                    if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
                    return String(decoding: self.buffer, as: UTF8.self)  // reset: closed too
                }
                self.buffer += chunk[..<received]
            }
        }
    }

    /// Bytes of the de-chunked stream already returned as events.
    private var consumed = 0

    /// Parses the next event of the stream (chunked transfer encoding undone); skips comments.
    private func takeEvent() -> Event? {
        while true {
            var text = String(decoding: buffer, as: UTF8.self)
            if head.lowercased().contains("transfer-encoding: chunked") { text = Self.dechunked(text) }
            let rest = String(decoding: Array(text.utf8.dropFirst(consumed)), as: UTF8.self)
            guard let end = rest.range(of: "\n\n") else { return nil }
            consumed += rest[..<end.upperBound].utf8.count
            var name: String?, data: [String] = []
            for line in rest[..<end.lowerBound].split(separator: "\n") {
                if line.hasPrefix("event:") { name = line.dropFirst(6).trimmingCharacters(in: .whitespaces) }
                else if line.hasPrefix("data:") { data.append(line.dropFirst(5).trimmingCharacters(in: .whitespaces)) }
            }
            guard name != nil || !data.isEmpty else { continue }  // a keep-alive comment
            return Event(name: name ?? "message", data: data.joined(separator: "\n"))
        }
    }

    private static func dechunked(_ text: String) -> String {
        var output = ""
        var rest = Substring(text)
        while let lineEnd = rest.range(of: "\r\n") {
            guard let size = Int(rest[..<lineEnd.lowerBound], radix: 16) else { break }
            let start = lineEnd.upperBound
            guard let end = rest.utf8.index(start, offsetBy: size, limitedBy: rest.utf8.endIndex) else { break }
            output += rest[start..<end]
            // By bytes: "\r\n" is one Character, so dropFirst(2) on the string would eat a digit too.
            rest = Substring(rest[end...].utf8.dropFirst(2))
        }
        return output
    }

    private static func setTimeout(_ socket: Int32, _ timeout: Duration) {
        let (seconds, attoseconds) = timeout.components
        var value = timeval(tv_sec: Int(seconds), tv_usec: max(1, Int(attoseconds / 1_000_000_000_000)))
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    private static func receive(_ socket: Int32, timeout: Duration) -> [UInt8]? {
        setTimeout(socket, timeout)
        var chunk = [UInt8](repeating: 0, count: 4096)
        let received = chunk.withUnsafeMutableBytes { Glibc.recv(socket, $0.baseAddress, $0.count, 0) }
        return received > 0 ? Array(chunk[..<received]) : nil
    }

    private static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}
