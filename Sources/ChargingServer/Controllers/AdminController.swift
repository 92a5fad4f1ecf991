import ChargingDomain
import ChargingStore
import Foundation
import Hummingbird
import PileRouting

/// The seed's admin API, exactly: `/a/login` and `/admin/charge/...`.
struct AdminController {
    let accounts: AccountStore
    let piles: PileStore
    let tokens: TokenService
    let hasher: PasswordHasher
    let delivery: CommandDelivery
    let stations: StationService
    let commandTimeout: Duration

    func addRoutes(to router: Router<AppRequestContext>) {
        LoginRoute(tokens: tokens, hasher: hasher).add(
            "/a/login", role: .admin, to: router,
            account: { try $0.string("username") }, credentials: { try await accounts.adminCredentials(username: $0) })
        router.get("/admin/charge/queue", use: queue)
        router.get("/admin/charge/status/get", use: statusGet)
        router.post("/admin/charge/status/set", use: statusSet)
        router.get("/admin/charge/waiting", use: waiting)
        router.get("/admin/clock", use: clock)
        router.post("/admin/clock/advance", use: advanceClock)
    }

    @Sendable func queue(_ request: Request, context: AppRequestContext) async throws -> APIResponse<[QueueEntryResponse]> {
        let parameters = try await authenticated(request, context)
        let pileID = try parameters.int("id")
        guard let entries = try await stations.pileQueue(pileID: pileID) else { throw APIError.unknownPile }
        return .success("获取成功", data: entries.map(QueueEntryResponse.init))
    }

    @Sendable func statusGet(_ request: Request, context: AppRequestContext) async throws -> APIResponse<[PileStatusResponse]> {
        _ = try await authenticated(request, context)
        return .success("获取成功", data: try await piles.all().map(PileStatusResponse.init))
    }

    @Sendable func statusSet(_ request: Request, context: AppRequestContext) async throws -> APIResponse<NoPayload> {
        let parameters = try await authenticated(request, context)
        let pileID = try parameters.int("id")
        let status = try parameters.choice("status", as: PileStatus.self)
        let start = ContinuousClock.now
        let outcome = try await delivery.send(status, toPile: pileID, timeout: commandTimeout)
        ServerMetrics.recordCommand(outcome: outcome.rawValue, duration: ContinuousClock.now - start)
        switch outcome {
        case .unknownPile: throw APIError.unknownPile
        case .written:
            await stations.pileStatusChanged(pileID: pileID)
            return .success("设置成功")
        case .offline: throw APIError.pileOffline
        case .rejected: throw APIError.commandRejected
        case .failed, .expired, .pending: throw APIError.writeFailed
        }
    }

    @Sendable func waiting(_ request: Request, context: AppRequestContext) async throws -> APIResponse<[WaitingEntryResponse]> {
        _ = try await authenticated(request, context)
        return .success("获取成功", data: try await stations.waitingArea().map(WaitingEntryResponse.init))
    }

    @Sendable func clock(_ request: Request, context: AppRequestContext) async throws -> APIResponse<ClockResponse> {
        _ = try await authenticated(request, context)
        return .success("获取成功", data: ClockResponse(try await stations.clock()))
    }

    @Sendable func advanceClock(_ request: Request, context: AppRequestContext) async throws -> APIResponse<ClockResponse> {
        let parameters = try await authenticated(request, context)
        guard let target = ISO8601.parse(try parameters.string("to")) else { throw APIError.invalidParameter("to") }
        return .success("设置成功", data: ClockResponse(try await stations.advanceManualClock(to: target)))
    }

    private func authenticated(_ request: Request, _ context: AppRequestContext) async throws -> RequestParameters {
        let parameters = try await RequestParameters.parse(request, context: context)
        _ = try await tokens.authenticate(request, parameters: parameters, role: .admin)
        return parameters
    }
}
