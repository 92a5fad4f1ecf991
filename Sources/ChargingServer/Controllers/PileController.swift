import ChargingDomain
import ChargingStore
import Foundation
import Hummingbird
import Logging
import NIOWebSocket
import PileRouting

/// Piles: `POST /p/login`, then one WebSocket at `/p/ws`.
struct PileController {
    let piles: PileStore
    let tokens: TokenService
    let hasher: PasswordHasher
    let ownership: PileOwnership
    let hub: PileHub
    let commands: PileCommandLog
    let stations: StationService

    /// Largest message a pile may send, fragments joined (API.md); larger ones close the socket with 1009.
    static let maxMessageSize = 64 * 1024

    func addRoutes(to router: Router<AppRequestContext>) {
        LoginRoute(tokens: tokens, hasher: hasher).add(
            "/p/login", role: .pile, to: router,
            account: { try $0.int("id") }, credentials: { try await piles.credentials(pileID: $0) })
        // Upgrades are taken by `PileSocketChannel`; what reaches the router is plain HTTP or a refused upgrade.
        router.get(RouterPath(Self.socketPath), use: notUpgraded)
    }

    /// Plain HTTP to `/p/ws`: the token is checked first (`code -1` when bad), then the pile is told to upgrade.
    @Sendable func notUpgraded(_ request: Request, context: AppRequestContext) async throws -> APIResponse<NoPayload> {
        guard try await pileID(upgrading: request) != nil else { throw APIError.invalidToken }
        throw APIError("请使用WebSocket连接")
    }
}

extension PileController: PileSocketAcceptor {
    static let socketPath = "/p/ws"

    /// The pile a `/p/ws` request's token (query or bearer) speaks for; nil when the token is bad.
    func pileID(upgrading request: Request) async throws -> Int? {
        let parameters = RequestParameters(Dictionary(request.uri.queryParameters.map { (String($0.key), String($0.value)) }) { _, last in last })
        do {
            return Int(try await tokens.authenticate(request, parameters: parameters, role: .pile))
        } catch let error as APIError where error == .invalidToken {
            return nil
        }
    }

    /// The newest socket of a pile owns it; it is greeted as `off`.
    func opened(_ connection: PileConnection) async {
        let pileID = connection.pileID
        do {
            guard let claim = try await ownership.claim(pileID: pileID) else {
                return await connection.close(.policyViolation, reason: "unknown pile")
            }
            connection.claimed(epoch: claim.epoch)
            await hub.attach(connection, epoch: claim.epoch)
            connection.logger.info("pile connected", metadata: ["epoch": "\(claim.epoch)"])
            await stations.pileStatusChanged(pileID: pileID)
            _ = await connection.write(PileFrame.welcome(pileID: pileID, status: .off))
        } catch {
            connection.logger.warning("pile could not be claimed", metadata: ["error": "\(error)"])
            await connection.close(.unexpectedServerError, reason: "service unavailable")
        }
    }

    func received(_ text: String, on connection: PileConnection) async {
        guard let epoch = connection.epoch else { return }
        if let refusal = await handle(text, pileID: connection.pileID, epoch: epoch) {
            _ = await connection.write(PileFrame.error(refusal))
        }
    }

    /// Our protocol's frames: written is delivered (the pile's `ack` comes later, if at all).
    func deliver(_ instruction: PileInstruction, on connection: PileConnection) async -> DeliveryOutcome {
        let frame: String
        switch instruction {
        case .setStatus(let status, let commandID): frame = PileFrame.setStatus(status, commandID: commandID)
        case .startCharging(let requestID, let driver, let queueNumber, let requestedKWh):
            frame = PileFrame.startCharging(requestID: requestID, driver: driver, queueNumber: queueNumber, requestedKWh: requestedKWh)
        case .stopCharging(let requestID, let reason): frame = PileFrame.stopCharging(requestID: requestID, reason: reason)
        case .ocppCall: return .unsupported
        }
        return await connection.write(frame) ? .delivered(answer: nil) : .failed("websocket write failed")
    }

    /// The pile goes offline unless a newer connection took over.
    func closed(_ connection: PileConnection) async {
        guard let epoch = connection.epoch else { return }
        await hub.detach(pileID: connection.pileID, epoch: epoch)
        if (try? await ownership.release(pileID: connection.pileID, epoch: epoch)) == true {
            await stations.pileStatusChanged(pileID: connection.pileID)
        }
        connection.logger.info("pile disconnected", metadata: ["epoch": "\(epoch)"])
    }

    /// Applies one frame; returns why it was refused, if it was.
    private func handle(_ text: String, pileID: Int, epoch: Int64) async -> String? {
        do {
            switch try PileMessage.parse(text) {
            case .status(let status):
                guard try await ownership.recordStatus(pileID: pileID, epoch: epoch, status: status) else {
                    return "连接已被替换"
                }
                await stations.pileStatusChanged(pileID: pileID)
            case .meter(let requestID, let energy):
                if let refusal = try await stations.meterReading(pileID: pileID, requestID: requestID, energyKWh: energy) {
                    return refusal
                }
            case .ack(let commandID):
                guard try await commands.acknowledge(commandID: commandID, pileID: pileID) else { return "未知的命令: \(commandID)" }
            }
            return nil
        } catch let refusal as PileMessage.Refusal {
            return refusal.message
        } catch {
            return APIError.unavailable.message
        }
    }
}
