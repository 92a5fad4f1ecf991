import ChargingDomain
import ChargingStore
import Foundation
import Hummingbird

/// Drivers: register, log in, and one charging request at a time.
struct DriverController {
    let accounts: AccountStore
    let bills: BillStore
    let tokens: TokenService
    let login: LoginServices
    let stations: StationService

    func addRoutes(to router: Router<AppRequestContext>) {
        router.post("/u/register", use: register)
        LoginRoute(services: login).add(
            "/u/login", role: .driver, to: router,
            account: { Username.normalized(try $0.string("username")) }, name: { $0 },
            credentials: { try await accounts.driverCredentials(username: $0) })
        let driver = router.authenticated(DriverRequestContext.self, tokens: tokens)
        driver.post("/u/logout") { request, context in
            try await login.logOut(context.identity, address: context.clientAddress, context: context)
        }
        driver.post("/user/charge/request", use: submit)
        driver.get("/user/charge/request", use: current)
        driver.post("/user/charge/request/modify", use: modify)
        driver.post("/user/charge/request/cancel", use: cancel)
        driver.get("/user/charge/bills", use: billList)
    }

    static let capacityAboveRegistered = "电池容量不能超过注册的电池容量"

    @Sendable func register(_ request: Request, context: AppRequestContext) async throws -> APIResponse<NoPayload> {
        let parameters = try await RequestParameters.parse(request, context: context)
        let rawUsername = try parameters.string("username")
        let password = try parameters.string("password")
        let capacity = try parameters.energyKWh("battery_capacity")
        // NFC, trimmed, no control characters, 1–64 characters; unique whatever the case.
        guard let username = Username.normalized(rawUsername) else { throw APIError.invalidParameter("username") }
        guard password.count >= 6 else { throw APIError("密码至少6位") }
        guard password.utf8.count <= PasswordHasher.maxPasswordBytes else { throw APIError.passwordTooLong }
        guard capacity > 0, capacity <= 1000 else { throw APIError.invalidParameter("battery_capacity") }
        let address = context.clientAddress
        do {
            try await login.guardian.checkRegistration(address: address)
        } catch let error as APIError where error == .tooManyAttempts {
            await login.audit.record("register", role: .driver, username: username, address: address, outcome: .throttled,
                                     logger: context.logger)
            throw error
        }
        // Every attempt that gets this far costs a bcrypt hash: each counts, taken names too.
        try await login.guardian.registered(address: address)
        do {
            _ = try await accounts.createDriver(username: username, passwordHash: try await login.hasher.hash(password),
                                                batteryCapacityKWh: capacity)
        } catch StoreError.usernameTaken {
            await login.audit.record("register", role: .driver, username: username, address: address, outcome: .failure,
                                     logger: context.logger)
            throw APIError("用户名已存在")
        }
        await login.audit.record("register", role: .driver, username: username, address: address, outcome: .success,
                                 logger: context.logger)
        return .success("注册成功")
    }

    @Sendable func submit(_ request: Request, context: DriverRequestContext) async throws -> APIResponse<SubmittedRequestResponse> {
        let (parameters, driver) = try await authenticated(context)
        let mode = try parameters.choice("mode", as: ChargingMode.self)
        let amount = try parameters.energyKWh("request_quantity")
        let capacity = try parameters.optionalEnergyKWh("battery_capacity") ?? driver.batteryCapacityKWh
        guard capacity > 0 else { throw APIError.invalidParameter("battery_capacity") }
        // The car is the one the driver registered: no bigger battery than that (nor, so, a bigger amount).
        guard capacity <= driver.batteryCapacityKWh else { throw APIError(Self.capacityAboveRegistered) }
        let (effects, station) = try await stations.submit(driver: driver, stationID: try parameters.optionalStation(), mode: mode,
                                                           requestedKWh: amount, batteryCapacityKWh: capacity)
        guard let view = try await stations.request(of: driver.username, stationID: station),
              effects.contains(where: { if case .accepted = $0 { true } else { false } })
        else { throw APIError.unavailable }
        return .success("提交成功", data: SubmittedRequestResponse(request_id: view.requestID, queue_number: view.queueNumber,
                                                               state: view.displayState, station_id: station))
    }

    @Sendable func current(_ request: Request, context: DriverRequestContext) async throws -> APIResponse<RequestResponse> {
        let (_, driver) = try await authenticated(context)
        let station = driver.activeStationID
        guard let view = try await stations.request(of: driver.username, stationID: station) else {
            throw APIError(StationError.noActiveRequest.message)
        }
        return .success("获取成功", data: RequestResponse(view, idTag: driver.idTag, stationID: station ?? stations.defaultStationID))
    }

    @Sendable func modify(_ request: Request, context: DriverRequestContext) async throws -> APIResponse<RequestResponse> {
        let (parameters, driver) = try await authenticated(context)
        let mode = try parameters.optionalChoice("mode", as: ChargingMode.self)
        let amount = try parameters.optionalEnergyKWh("request_quantity")
        let station = driver.activeStationID
        _ = try await stations.apply(.modify(driver: driver.username, mode: mode, requestedKWh: amount), stationID: station)
        guard let view = try await stations.request(of: driver.username, stationID: station) else { throw APIError.unavailable }
        return .success("修改成功", data: RequestResponse(view, idTag: driver.idTag, stationID: station ?? stations.defaultStationID))
    }

    @Sendable func cancel(_ request: Request, context: DriverRequestContext) async throws -> APIResponse<NoPayload> {
        let (_, driver) = try await authenticated(context)
        let station = driver.activeStationID
        _ = try await stations.apply(.cancel(driver: driver.username), stationID: station)
        return .success("取消成功")
    }

    @Sendable func billList(_ request: Request, context: DriverRequestContext) async throws -> APIResponse<[BillResponse]> {
        let (_, driver) = try await authenticated(context)
        return .success("获取成功", data: try await bills.bills(driverID: driver.id).map(BillResponse.init))
    }

    /// The token was checked by `AuthenticatorMiddleware`; this reads its driver's record.
    private func authenticated(_ context: DriverRequestContext) async throws -> (RequestParameters, Driver) {
        guard let driver = try await accounts.driver(id: context.driverID) else { throw APIError.invalidToken }
        return (context.input, driver)
    }
}
