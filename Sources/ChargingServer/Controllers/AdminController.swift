import ChargingDomain
import ChargingStore
import Foundation
import Hummingbird
import PileRouting

/// The seed's admin API, exactly: `/a/login` and `/admin/charge/...`; each endpoint about piles or queues also takes an
/// optional `station` (without it, the seed's answer: every pile, and station 1's waiting area and clock).
struct AdminController {
    let accounts: AccountStore
    let piles: PileStore
    let tokens: TokenService
    let login: LoginServices
    let delivery: CommandDelivery
    let stations: StationService
    let commandTimeout: Duration

    func addRoutes(to router: Router<AppRequestContext>) {
        LoginRoute(services: login).add(
            "/a/login", role: .admin, to: router,
            account: { Username.normalized(try $0.string("username")) }, name: { $0 },
            credentials: { try await accounts.adminCredentials(username: $0) })
        let admin = router.authenticated(AdminRequestContext.self, tokens: tokens)
        admin.get("/admin/charge/queue", use: queue)
        admin.get("/admin/charge/status/get", use: statusGet)
        admin.post("/admin/charge/status/set", use: statusSet)
        admin.get("/admin/charge/waiting", use: waiting)
        admin.get("/admin/clock", use: clock)
        admin.post("/admin/clock/advance", use: advanceClock)
        admin.get("/admin/station/get", use: stationGet)
        admin.post("/admin/station/set", use: stationSet)
    }

    @Sendable func stationGet(_ request: Request, context: AdminRequestContext) async throws -> APIResponse<StationPowerResponse> {
        let stationID = try Self.stationID(context.input)
        return .success("获取成功", data: StationPowerResponse(try await stations.power(stationID: stationID)))
    }

    /// A station id; one that cannot exist (stations are numbered from 1, int4 in the database) is unknown.
    static func stationID(_ parameters: RequestParameters) throws -> Int {
        let id = try parameters.int("id")
        guard (1...Int(Int32.max)).contains(id) else { throw APIError("充电站不存在") }
        return id
    }

    /// `power_limit_kw`: the station's grid connection in kW, or `none`; `pile_id` with `minimum_power_kw`: the least
    /// power a car can charge at on that pile, in kW, or `default`; `reservation_minutes`: how long a charger keeps a
    /// pile for the car next in its queue beyond its expected arrival (1…1440). Any of them; everything is checked
    /// before anything changes.
    @Sendable func stationSet(_ request: Request, context: AdminRequestContext) async throws -> APIResponse<StationPowerResponse> {
        let parameters = context.input
        let stationID = try Self.stationID(parameters)
        var limit: Int64??
        if try parameters.optionalString("power_limit_kw") != nil {
            limit = .some(try parameters.powerKWOrNone("power_limit_kw", maximumWatts: StationSettings.maximumPowerLimitWatts))
        }
        var minimum: (pileID: Int, watts: Int64?)?
        if try parameters.optionalString("pile_id") != nil || parameters.optionalString("minimum_power_kw") != nil {
            let pileID = try parameters.int("pile_id")
            guard (1...Int(Int32.max)).contains(pileID) else { throw APIError.unknownPile }
            minimum = (pileID, try parameters.powerKWOrNone("minimum_power_kw", maximumWatts: StationSettings.maximumPowerWatts, none: "default"))
        }
        let minutes = try parameters.optionalString("reservation_minutes").map { text throws(APIError) -> Int in
            guard let minutes = Int(text.trimmingCharacters(in: .whitespaces)),
                  (1...StationSettings.maximumReservationMinutes).contains(minutes)
            else { throw .invalidParameter("reservation_minutes") }
            return minutes
        }
        guard limit != nil || minimum != nil || minutes != nil else { throw APIError.missingParameter("power_limit_kw") }
        if let minutes { try await stations.setReservationMinutes(minutes, stationID: stationID) }
        if let minimum {
            _ = try await stations.setMinimumPower(minimum.watts, pileID: minimum.pileID, stationID: stationID)
        }
        if let limit {
            _ = try await stations.setPowerLimit(limit, stationID: stationID)
        }
        return .success("设置成功", data: StationPowerResponse(try await stations.power(stationID: stationID)))
    }

    @Sendable func queue(_ request: Request, context: AdminRequestContext) async throws -> APIResponse<[QueueEntryResponse]> {
        let parameters = context.input
        let pileID = try parameters.int("id")
        let station = try await stations.scope(parameters.optionalStation())
        guard let entries = try await stations.pileQueue(pileID: pileID, inStation: station) else { throw APIError.unknownPile }
        return .success("获取成功", data: entries.map(QueueEntryResponse.init))
    }

    @Sendable func statusGet(_ request: Request, context: AdminRequestContext) async throws -> APIResponse<[PileStatusResponse]> {
        let station = try await stations.scope(context.input.optionalStation())
        return .success("获取成功", data: try await piles.all(stationID: station).map(PileStatusResponse.init))
    }

    @Sendable func statusSet(_ request: Request, context: AdminRequestContext) async throws -> APIResponse<NoPayload> {
        let parameters = context.input
        let pileID = try parameters.int("id")
        let status = try parameters.choice("status", as: PileStatus.self)
        let station = try await stations.scope(parameters.optionalStation())
        if station != nil, !(try await stations.pile(pileID, isIn: station)) { throw APIError.unknownPile }
        let start = ContinuousClock.now
        let outcome = try await delivery.send(status, toPile: pileID, timeout: commandTimeout)
        ServerMetrics.recordCommand(outcome: outcome.rawValue, duration: ContinuousClock.now - start)
        switch outcome {
        case .unknownPile: throw APIError.unknownPile
        case .written:
            return .success("设置成功")
        case .offline: throw APIError.pileOffline
        case .rejected: throw APIError.commandRejected
        case .failed, .expired, .pending: throw APIError.writeFailed
        }
    }

    @Sendable func waiting(_ request: Request, context: AdminRequestContext) async throws -> APIResponse<[WaitingEntryResponse]> {
        let station = try await stations.scope(context.input.optionalStation())
        return .success("获取成功", data: try await stations.waitingArea(stationID: station).map(WaitingEntryResponse.init))
    }

    @Sendable func clock(_ request: Request, context: AdminRequestContext) async throws -> APIResponse<ClockResponse> {
        let station = try await stations.scope(context.input.optionalStation())
        return .success("获取成功", data: ClockResponse(try await stations.clock(stationID: station)))
    }

    @Sendable func advanceClock(_ request: Request, context: AdminRequestContext) async throws -> APIResponse<ClockResponse> {
        let parameters = context.input
        guard let target = ISO8601.parse(try parameters.string("to")) else { throw APIError.invalidParameter("to") }
        let station = try await stations.scope(parameters.optionalStation())
        return .success("设置成功", data: ClockResponse(try await stations.advanceManualClock(to: target, stationID: station)))
    }
}
