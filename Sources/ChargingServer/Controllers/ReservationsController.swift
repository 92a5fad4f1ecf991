import ChargingDomain
import ChargingStore
import Foundation
import Hummingbird

/// An operator keeps a pile for a driver over a window: `POST /admin/reservations`, `GET /admin/reservations`,
/// `POST /admin/reservations/cancel`. The window is the engine's (dispatch respects it) and a
/// `pile_reservations` row, written in one transaction.
struct ReservationsController {
    let reservations: ReservationStore
    let stations: StationService
    let tokens: TokenService

    func addRoutes(to router: Router<AppRequestContext>) {
        let admin = router.authenticated(AdminRequestContext.self, tokens: tokens)
        admin.post("/admin/reservations", use: add)
        admin.get("/admin/reservations", use: list)
        admin.post("/admin/reservations/cancel", use: cancel)
    }

    /// `id` (the pile), `username` (the driver), `from` and `to` (ISO-8601, station time).
    @Sendable func add(_ request: Request, context: AdminRequestContext) async throws -> APIResponse<ReservationResponse> {
        let parameters = context.input
        guard let pileID = try parameters.optionalRowID("id") else { throw APIError.missingParameter("id") }
        guard let driver = Username.normalized(try parameters.string("username")) else { throw APIError.invalidParameter("username") }
        let from = try Self.date(parameters, "from")
        let to = try Self.date(parameters, "to")
        let window = try await stations.reserve(pileID: pileID, driver: driver, from: from, to: to)
        return .success("预约成功", data: ReservationResponse(id: window, pileID: pileID, driver: driver, from: from, to: to,
                                                          cancelledAt: nil, state: "active"))
    }

    /// Optional `id` (a pile) and `all` (`true`: ended and cancelled windows too).
    @Sendable func list(_ request: Request, context: AdminRequestContext) async throws -> APIResponse<[ReservationResponse]> {
        let parameters = context.input
        let all: Bool
        switch try parameters.optionalString("all") {
        case nil, "false": all = false
        case "true": all = true
        default: throw APIError.invalidParameter("all")
        }
        let windows = try await reservations.windows(pileID: try parameters.optionalRowID("id"), all: all)
        return .success("获取成功", data: windows.map(ReservationResponse.init))
    }

    /// `reservation_id`: the window ends now; cars it held back may be placed at once.
    @Sendable func cancel(_ request: Request, context: AdminRequestContext) async throws -> APIResponse<ReservationResponse> {
        let parameters = context.input
        guard let text = try parameters.optionalString("reservation_id") else { throw APIError.missingParameter("reservation_id") }
        guard let id = Int64(text.trimmingCharacters(in: .whitespaces)), id >= 1 else { throw APIError.invalidParameter("reservation_id") }
        let pileID = try await stations.cancelReservation(id: id)
        guard let window = try await reservations.windows(pileID: pileID, all: true).first(where: { $0.id == id }) else {
            throw APIError(StationError.unknownReservation.message)
        }
        return .success("取消成功", data: ReservationResponse(window))
    }

    private static func date(_ parameters: RequestParameters, _ name: String) throws(APIError) -> Date {
        guard let date = ISO8601.parse(try parameters.string(name)), (0...253_402_300_799).contains(date.timeIntervalSince1970)
        else { throw .invalidParameter(name) }
        return date
    }
}

/// A window of `/admin/reservations`; times in ISO-8601 (station time zone).
struct ReservationResponse: Encodable, Sendable {
    var reservation_id: Int64
    var id: Int
    var username: String
    var from: String
    var to: String
    var cancelled_at: String?
    var state: String

    init(id: Int64, pileID: Int, driver: String, from: Date, to: Date, cancelledAt: Date?, state: String) {
        reservation_id = id
        self.id = pileID
        username = driver
        self.from = ISO8601.format(from)
        self.to = ISO8601.format(to)
        cancelled_at = cancelledAt.map { ISO8601.format($0) }
        self.state = state
    }

    init(_ window: ReservationStore.Window) {
        self.init(id: window.id, pileID: window.pileID, driver: window.driver, from: window.startsAt, to: window.endsAt,
                  cancelledAt: window.cancelledAt, state: window.state)
    }

    func encode(to encoder: any Encoder) throws {
        enum Keys: String, CodingKey { case reservation_id, id, username, from, to, cancelled_at, state }
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(reservation_id, forKey: .reservation_id)
        try container.encode(id, forKey: .id)
        try container.encode(username, forKey: .username)
        try container.encode(from, forKey: .from)
        try container.encode(to, forKey: .to)
        try container.encode(cancelled_at, forKey: .cancelled_at)
        try container.encode(state, forKey: .state)
    }
}
