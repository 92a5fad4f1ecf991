import ChargingDomain
import ChargingStore
import Foundation
import Hummingbird
import HummingbirdWebSocket
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

    /// Largest text frame a pile may send (API.md); larger ones close the socket with 1009.
    static let maxFrameSize = 64 * 1024

    func addRoutes(to router: Router<AppRequestContext>) {
        router.post("/p/login", use: login)
        router.group("/p/ws")
            .add(middleware: PileAuthenticationMiddleware(tokens: tokens))
            .ws(shouldUpgrade: { _, context in context.pileID == nil ? .dontUpgrade : .upgrade([:]) },
                onUpgrade: session)
    }

    @Sendable func login(_ request: Request, context: AppRequestContext) async throws -> APIResponse<NoPayload> {
        let parameters = try await RequestParameters.parse(request, context: context)
        let pileID = try parameters.int("id")
        let password = try parameters.string("password")
        let token = try await tokens.logIn(try await piles.credentials(pileID: pileID), password: password, role: .pile, hasher: hasher)
        return .success("登录成功", token: token)
    }

    /// One pile's socket, from `welcome` to close; the pile goes offline when it ends
    /// unless a newer connection took over.
    @Sendable func session(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, context: WebSocketRouterContext<AppRequestContext>
    ) async throws {
        guard let pileID = context.requestContext.pileID else { return }
        var logger = context.logger
        logger[metadataKey: "pile"] = "\(pileID)"
        guard let claim = try await ownership.claim(pileID: pileID) else {
            try await outbound.close(.policyViolation, reason: "unknown pile")
            return
        }
        await hub.attach(pileID: pileID, epoch: claim.epoch, outbound: outbound)
        logger.info("pile connected", metadata: ["epoch": "\(claim.epoch)"])
        await stations.pileStatusChanged(pileID: pileID)
        do {
            try await outbound.write(.text(PileFrame.welcome(pileID: pileID, status: .off)))
            for try await message in inbound.messages(maxSize: Self.maxFrameSize) {
                guard case .text(let text) = message else {
                    try await outbound.close(.unacceptableData, reason: "text frames only")
                    break
                }
                if let refusal = await handle(text, pileID: pileID, epoch: claim.epoch) {
                    try await outbound.write(.text(PileFrame.error(refusal)))
                }
            }
        } catch {
            logger.debug("pile socket ended", metadata: ["error": "\(error)"])
        }
        await hub.detach(pileID: pileID, epoch: claim.epoch)
        if (try? await ownership.release(pileID: pileID, epoch: claim.epoch)) == true {
            await stations.pileStatusChanged(pileID: pileID)
        }
        logger.info("pile disconnected", metadata: ["epoch": "\(claim.epoch)"])
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

/// Resolves the pile token of a `/p/ws` request before the upgrade; a missing, expired
/// or other-role token gets `code -1` and no WebSocket.
struct PileAuthenticationMiddleware: RouterMiddleware {
    let tokens: TokenService

    func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        let parameters = RequestParameters(Dictionary(request.uri.queryParameters.map { (String($0.key), String($0.value)) }) { _, last in last })
        let subject = try await tokens.authenticate(request, parameters: parameters, role: .pile)
        var context = context
        context.pileID = Int(subject)
        return try await next(request, context)
    }
}
