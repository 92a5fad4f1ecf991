import ChargingDomain
import ChargingStore
import Foundation
import Hummingbird
import NIOCore
import Logging
import NIOWebSocket
import PileProtocol
import PileRouting

/// Piles: `POST /p/login`, then one WebSocket at `/p/ws`.
struct PileController {
    let piles: PileStore
    let tokens: TokenService
    let login: LoginServices
    let pileStates: PileStates
    let lifecycle: PileSocketLifecycle
    let commands: PileCommandLog
    let stations: StationService
    let socketTokens: PileTokenRegistry
    let powerAcknowledgements: PowerLimitAcknowledgements
    let admission: PileAdmission

    func addRoutes(to router: Router<AppRequestContext>) {
        LoginRoute(services: login).add(
            "/p/login", role: .pile, to: router, admission: admission,
            account: { try $0.int("id") }, name: { String($0) }, credentials: { try await piles.credentials(pileID: $0) })
        let pile = router.authenticated(PileRequestContext.self, tokens: tokens)
        pile.post("/p/logout") { request, context in
            try await login.logOut(context.identity, address: context.clientAddress, context: context)
        }
        // Upgrades are taken by `PileSocketChannel`; what reaches the router is plain HTTP or a refused upgrade.
        router.get(RouterPath(PileProtocolLimits.socketPath), use: notUpgraded)
    }

    /// Plain HTTP to `/p/ws`: the token is checked first (`code -1` when bad), then the pile is told to upgrade.
    @Sendable func notUpgraded(_ request: Request, context: AppRequestContext) async throws -> APIResponse<NoPayload> {
        guard try await pileID(upgrading: request) != nil else { throw APIError.invalidToken }
        throw APIError("请使用WebSocket连接")
    }
}

extension PileController: PileSocketAcceptor, PileSession {
    func serves(path: Substring) -> Bool { path == PileProtocolLimits.socketPath }

    func accept(upgrading request: Request, peer: SocketAddress?) async throws -> PileSocketAcceptance {
        guard let token = try await pileToken(upgrading: request) else { return .refused(.envelope(.invalidToken)) }
        // The socket remembers its token: revoked or expired, the socket is closed (SessionMaintenanceService).
        return .accepted(pileID: token.pileID, session: TokenBoundPileSession(inner: self, tokenHash: token.tokenHash, registry: socketTokens),
                         headers: [:])
    }

    /// The pile a `/p/ws` request's token (query or bearer) speaks for; nil when the token is bad.
    func pileID(upgrading request: Request) async throws -> Int? {
        try await pileToken(upgrading: request)?.pileID
    }

    func pileToken(upgrading request: Request) async throws -> (pileID: Int, tokenHash: String)? {
        let parameters = RequestParameters(Dictionary(request.uri.queryParameters.map { (String($0.key), String($0.value)) }) { _, last in last })
        do {
            let (subject, hash) = try await tokens.authenticateWithHash(request, parameters: parameters, role: .pile)
            return Int(subject).map { ($0, hash) }
        } catch let error as APIError where error == .invalidToken {
            return nil
        }
    }

    /// The newest socket of a pile owns it; it is greeted as `off`.
    func opened(_ connection: PileConnection) async {
        guard await lifecycle.open(connection, protocol: .chargepile) else { return }
        _ = await connection.write(ServerFrame.welcome(pileID: connection.pileID, status: PileStatus.off.rawValue).text)
    }

    func received(_ text: String, on connection: PileConnection) async {
        guard let epoch = connection.epoch else { return }
        if let refusal = await handle(text, pileID: connection.pileID, epoch: epoch) {
            connection.send(ServerFrame.error(message: refusal).text)
        }
    }

    /// Our protocol's frames: written is delivered (the pile's `ack` comes later, if at all), except a power
    /// limit: it is delivered once the pile acknowledged it, as the station counts on it.
    func deliver(_ instruction: PileInstruction, as command: CommandTicket, on connection: PileConnection) async -> DeliveryOutcome {
        let frame: ServerFrame
        switch instruction {
        case .setStatus(let status, let commandID): frame = .setStatus(status: status.rawValue, commandID: commandID)
        case .startCharging(let requestID, let driver, let queueNumber, let requestedKWh):
            frame = .startCharging(requestID: requestID, userID: driver, queueNumber: queueNumber,
                                   requestQuantity: NSDecimalNumber(decimal: requestedKWh).doubleValue)
        case .stopCharging(let requestID, let reason, _): frame = .stopCharging(requestID: requestID, reason: reason.rawValue)
        case .ocppCall, .reserve, .cancelReservation: return .unsupported
        case .setPower(let watts, _):
            powerAcknowledgements.expect(command.id)
            guard await connection.write(ServerFrame.setPower(powerKW: Double(watts) / 1_000, commandID: command.id).text) else {
                _ = powerAcknowledgements.acknowledge(command.id)
                return .failed("websocket write failed")
            }
            return await powerAcknowledgements.wait(for: command.id, until: command.deadline)
                ? .delivered(answer: nil) : .failed("no ack by the command's deadline")
        }
        return await connection.write(frame.text) ? .delivered(answer: nil) : .failed("websocket write failed")
    }

    func closed(_ connection: PileConnection) async {
        await lifecycle.close(connection)
    }

    /// Applies one frame; returns why it was refused, if it was.
    private func handle(_ text: String, pileID: Int, epoch: Int64) async -> String? {
        do {
            switch try PileFrame.parse(text) {
            case .status(let name):
                guard let status = PileStatus(rawValue: name) else { return "字段错误: status 必须是 on/off/repair" }
                if let refusal = stations.statusReportRefusal(pileID: pileID, status: status) { return refusal }
                guard try await pileStates.recordStatus(pileID: pileID, epoch: epoch, status: status) else { return "连接已被替换" }
            case .meter(let requestID, let energy):
                if let refusal = try await stations.meterReading(pileID: pileID, requestID: requestID, energyKWh: energy, source: .chargepile) {
                    return refusal
                }
            case .ack(let commandID):
                guard try await commands.acknowledge(commandID: commandID, pileID: pileID) else { return "未知的命令: \(commandID)" }
                powerAcknowledgements.acknowledge(commandID)
            }
            return nil
        } catch let refusal as PileFrame.Refusal {
            return refusal.message
        } catch {
            stations.logger.warning("pile frame failed", metadata: ["pile": "\(pileID)", "error": "\(error)"])
            return APIError.unavailable.message
        }
    }
}
