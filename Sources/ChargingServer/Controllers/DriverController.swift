import ChargingDomain
import ChargingStore
import Foundation
import Hummingbird

/// Drivers: register, log in, and one charging request at a time.
struct DriverController {
    let accounts: AccountStore
    let bills: BillStore
    let tokens: TokenService
    let hasher: PasswordHasher
    let stations: StationService

    func addRoutes(to router: Router<AppRequestContext>) {
        router.post("/u/register", use: register)
        LoginRoute(tokens: tokens, hasher: hasher).add(
            "/u/login", role: .driver, to: router,
            account: { try $0.string("username") }, credentials: { try await accounts.driverCredentials(username: $0) })
        router.post("/user/charge/request", use: submit)
        router.get("/user/charge/request", use: current)
        router.post("/user/charge/request/modify", use: modify)
        router.post("/user/charge/request/cancel", use: cancel)
        router.get("/user/charge/bills", use: billList)
    }

    static let capacityAboveRegistered = "电池容量不能超过注册的电池容量"

    @Sendable func register(_ request: Request, context: AppRequestContext) async throws -> APIResponse<NoPayload> {
        let parameters = try await RequestParameters.parse(request, context: context)
        let username = try parameters.string("username")
        let password = try parameters.string("password")
        let capacity = try parameters.energyKWh("battery_capacity")
        guard username.unicodeScalars.count <= 64 else { throw APIError.invalidParameter("username") }
        guard password.count >= 6 else { throw APIError("密码至少6位") }
        guard capacity > 0, capacity <= 1000 else { throw APIError.invalidParameter("battery_capacity") }
        do {
            _ = try await accounts.createDriver(username: username, passwordHash: try await hasher.hash(password),
                                                batteryCapacityKWh: capacity)
        } catch StoreError.usernameTaken {
            throw APIError("用户名已存在")
        }
        return .success("注册成功")
    }

    @Sendable func submit(_ request: Request, context: AppRequestContext) async throws -> APIResponse<SubmittedRequestResponse> {
        let (parameters, driver) = try await authenticated(request, context)
        let mode = try parameters.choice("mode", as: ChargingMode.self)
        let amount = try parameters.energyKWh("request_quantity")
        let capacity = try parameters.optionalEnergyKWh("battery_capacity") ?? driver.batteryCapacityKWh
        guard capacity > 0 else { throw APIError.invalidParameter("battery_capacity") }
        // The car is the one the driver registered: no bigger battery than that (nor, so, a bigger amount).
        guard capacity <= driver.batteryCapacityKWh else { throw APIError(Self.capacityAboveRegistered) }
        let effects = try await stations.apply(
            .submit(driver: driver.username, mode: mode, requestedKWh: amount, batteryCapacityKWh: capacity))
        guard let view = try await stations.request(of: driver.username),
              effects.contains(where: { if case .accepted = $0 { true } else { false } })
        else { throw APIError.unavailable }
        return .success("提交成功", data: SubmittedRequestResponse(request_id: view.requestID, queue_number: view.queueNumber,
                                                               state: view.displayState))
    }

    @Sendable func current(_ request: Request, context: AppRequestContext) async throws -> APIResponse<RequestResponse> {
        let (_, driver) = try await authenticated(request, context)
        guard let view = try await stations.request(of: driver.username) else { throw APIError(StationError.noActiveRequest.message) }
        return .success("获取成功", data: RequestResponse(view, idTag: driver.idTag))
    }

    @Sendable func modify(_ request: Request, context: AppRequestContext) async throws -> APIResponse<RequestResponse> {
        let (parameters, driver) = try await authenticated(request, context)
        let mode = try parameters.optionalChoice("mode", as: ChargingMode.self)
        let amount = try parameters.optionalEnergyKWh("request_quantity")
        _ = try await stations.apply(.modify(driver: driver.username, mode: mode, requestedKWh: amount))
        guard let view = try await stations.request(of: driver.username) else { throw APIError.unavailable }
        return .success("修改成功", data: RequestResponse(view, idTag: driver.idTag))
    }

    @Sendable func cancel(_ request: Request, context: AppRequestContext) async throws -> APIResponse<NoPayload> {
        let (_, driver) = try await authenticated(request, context)
        _ = try await stations.apply(.cancel(driver: driver.username))
        return .success("取消成功")
    }

    @Sendable func billList(_ request: Request, context: AppRequestContext) async throws -> APIResponse<[BillResponse]> {
        let (_, driver) = try await authenticated(request, context)
        return .success("获取成功", data: try await bills.bills(driverID: driver.id).map(BillResponse.init))
    }

    private func authenticated(_ request: Request, _ context: AppRequestContext) async throws -> (RequestParameters, Driver) {
        let parameters = try await RequestParameters.parse(request, context: context)
        let subject = try await tokens.authenticate(request, parameters: parameters, role: .driver)
        guard let id = Int64(subject), let driver = try await accounts.driver(id: id) else { throw APIError.invalidToken }
        return (parameters, driver)
    }
}
