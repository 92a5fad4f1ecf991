import ChargingStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle

/// The admin console: its page at `/` (files bundled with the binary), the operator
/// endpoints it reads beside the seed's, and the live event stream.
struct ConsoleController {
    let store: ConsoleStore
    let bills: BillStore
    let directory: StationDirectory
    let tokens: TokenService
    let login: LoginServices
    let events: ConsoleEvents
    /// Shown to consoles: which instance their event stream comes from.
    let instanceAddress: String

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/", use: page)
        router.get("/console/{file}", use: asset)
        let admin = router.authenticated(AdminRequestContext.self, tokens: tokens)
        admin.post("/a/logout", use: logout)
        admin.get("/admin/piles", use: piles)
        admin.get("/admin/reports", use: reports)
        admin.get("/admin/bills", use: bills)
        admin.get("/admin/commands", use: commands)
        admin.get("/admin/events", use: eventStream)
        admin.get("/admin/stations", use: stationOverview)
    }

    // MARK: the page

    /// The console's files, read once from the bundle: name → (bytes, content type).
    static let assets: [String: (bytes: ByteBuffer, contentType: String)] = {
        let types = ["html": "text/html; charset=utf-8", "css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8",
                     "svg": "image/svg+xml"]
        guard let folder = Bundle.module.url(forResource: "console", withExtension: nil),
              let files = try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
        else { return [:] }
        var assets: [String: (ByteBuffer, String)] = [:]
        for url in files {
            guard let type = types[url.pathExtension], let data = try? Data(contentsOf: url) else { continue }
            assets[url.lastPathComponent] = (ByteBuffer(bytes: data), type)
        }
        return assets
    }()

    /// Scripts and styles only from this origin, no inline code, no framing.
    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy: "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
            + "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        .xContentTypeOptions: "nosniff",
        .cacheControl: "no-cache",
        HTTPField.Name("Referrer-Policy")!: "no-referrer",
    ]

    @Sendable func page(_ request: Request, context: AppRequestContext) throws -> Response {
        try file("index.html")
    }

    @Sendable func asset(_ request: Request, context: AppRequestContext) throws -> Response {
        guard let name = context.parameters.get("file"), name != "index.html" else { throw HTTPError(.notFound) }
        return try file(name)
    }

    private func file(_ name: String) throws -> Response {
        guard let asset = Self.assets[name] else { throw HTTPError(.notFound) }
        var headers = Self.securityHeaders
        headers[.contentType] = asset.contentType
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: asset.bytes))
    }

    // MARK: operator endpoints

    @Sendable func logout(_ request: Request, context: AdminRequestContext) async throws -> APIResponse<NoPayload> {
        try await login.logOut(context.identity, address: context.clientAddress, context: context)
    }

    @Sendable func piles(_ request: Request, context: AdminRequestContext) async throws -> APIResponse<[ConsolePileResponse]> {
        let station = try await directory.scope(context.input.optionalStation())
        return .success("获取成功", data: try await store.piles(stationID: station).map(ConsolePileResponse.init))
    }

    @Sendable func reports(_ request: Request, context: AdminRequestContext) async throws -> APIResponse<[ReportRowResponse]> {
        let parameters = context.input
        let granularity = try parameters.optionalChoice("granularity", as: ConsoleStore.Granularity.self) ?? .day
        let station = try await directory.scope(parameters.optionalStation())
        let rows = try await store.report(
            granularity: granularity, stationID: station, pileID: try parameters.optionalRowID("pile_id"), from: try parameters.optionalCalendarDate("from"),
            to: try parameters.optionalCalendarDate("to"), limit: try parameters.rowLimit(default: 500, max: 5000))
        return .success("获取成功", data: rows.map(ReportRowResponse.init))
    }

    @Sendable func bills(_ request: Request, context: AdminRequestContext) async throws -> APIResponse<[AdminBillResponse]> {
        let parameters = context.input
        let station = try await directory.scope(parameters.optionalStation())
        let rows = try await bills.bills(
            stationID: station, pileID: try parameters.optionalRowID("pile_id"), driver: try parameters.optionalString("driver"),
            from: try parameters.optionalCalendarDate("from"), to: try parameters.optionalCalendarDate("to"),
            limit: try parameters.rowLimit(default: 500, max: 5000))
        return .success("获取成功", data: rows.map(AdminBillResponse.init))
    }

    @Sendable func commands(_ request: Request, context: AdminRequestContext) async throws -> APIResponse<[CommandResponse]> {
        let parameters = context.input
        let station = try await directory.scope(parameters.optionalStation())
        let rows = try await store.commands(stationID: station, pileID: try parameters.optionalRowID("pile_id"),
                                            kind: try parameters.optionalChoice("kind", as: CommandKind.self)?.rawValue,
                                            limit: try parameters.rowLimit(default: 50, max: 500))
        return .success("获取成功", data: rows.map(CommandResponse.init))
    }

    /// Every station (or the one named): piles by status, cars waiting, queued and charging, today's energy and revenue.
    @Sendable func stationOverview(_ request: Request, context: AdminRequestContext) async throws -> APIResponse<[StationOverviewResponse]> {
        let station = try await directory.scope(context.input.optionalStation())
        return .success("获取成功", data: try await directory.overview(stationID: station).map(StationOverviewResponse.init))
    }

    // MARK: live events

    /// Server-Sent Events: `hello` first (this instance's address), then `change` with the
    /// topic (`piles`, `commands`, `station`, `bills`) whenever a transaction on any instance
    /// changed it, `resync` when notifications may have been missed, and a comment line as
    /// keep-alive. The stream ends when the instance stops; the browser reconnects.
    @Sendable func eventStream(_ request: Request, context: AdminRequestContext) async throws -> Response {
        let events = self.events
        let hello = "retry: 1000\nevent: hello\ndata: {\"instance\":\(Self.jsonString(instanceAddress))}\n\n"
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-cache",
                HTTPField.Name("X-Accel-Buffering")!: "no",
            ],
            body: ResponseBody { writer in
                // Subscribed before `hello` is sent: a console that saw it misses no later change.
                let (id, stream) = events.subscribe()
                defer { events.unsubscribe(id) }
                try await writer.write(ByteBuffer(string: hello))
                try await withGracefulShutdownHandler {
                    for await event in stream {
                        let text = switch event {
                        case .change(let topic): "event: change\ndata: \(topic)\n\n"
                        case .resync: "event: resync\ndata: all\n\n"
                        case .keepalive: ": keep-alive\n\n"
                        }
                        try await writer.write(ByteBuffer(string: text))
                    }
                } onGracefulShutdown: {
                    events.unsubscribe(id)
                }
                try await writer.finish(nil)
            })
    }

    private static func jsonString(_ text: String) -> String {
        (try? String(decoding: JSONEncoder().encode(text), as: UTF8.self)) ?? "\"\""
    }

}

/// `GET /admin/commands?kind=`: admins' status commands, or the other instructions for piles.
enum CommandKind: String {
    case status, instruction
}

extension RequestParameters {
    func optionalInteger(_ name: String) throws(APIError) -> Int? {
        guard let text = try optionalString(name) else { return nil }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else { throw .invalidParameter(name) }
        return value
    }

    /// A calendar date `YYYY-MM-DD` (years 1–9999), returned as that text.
    func optionalCalendarDate(_ name: String) throws(APIError) -> String? {
        guard let text = try optionalString(name) else { return nil }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]), year >= 1
        else { throw .invalidParameter(name) }
        let components = DateComponents(calendar: Calendar(identifier: .gregorian), timeZone: .gmt, year: year, month: month, day: day)
        guard components.isValidDate else { throw .invalidParameter(name) }
        return text
    }

    /// The id of a row (numbered from 1, int4 in the database); nil when absent. One that cannot
    /// exist is an invalid parameter, never a query PostgreSQL rejects.
    func optionalRowID(_ name: String) throws(APIError) -> Int? {
        guard let value = try optionalInteger(name) else { return nil }
        guard (1...Int(Int32.max)).contains(value) else { throw .invalidParameter(name) }
        return value
    }

    /// `station`: a station's number, when the request is about one station; nil when absent.
    func optionalStation() throws(APIError) -> Int? {
        try optionalRowID("station")
    }

    /// `limit`: 1…max, default when absent.
    func rowLimit(default defaultValue: Int, max: Int) throws(APIError) -> Int {
        guard let value = try optionalInteger("limit") else { return defaultValue }
        guard (1...max).contains(value) else { throw .invalidParameter("limit") }
        return value
    }
}
