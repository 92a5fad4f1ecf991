@testable import ChargingServer
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOWebSocket
import PileRouting
import Testing

/// The hub's one socket per pile, and which sockets the token check closes: without a network or a database.
@Suite("Pile hub")
struct PileHubTests {
    @Test("two sockets of one pile attaching in either order: the older epoch is closed as replaced, the newer one stays reachable")
    func newerEpochWinsWhicheverAttachesFirst() async throws {
        for newerFirst in [false, true] {
            let hub = PileHub()
            let older = try await Self.connection(pileID: 7), newer = try await Self.connection(pileID: 7)
            if newerFirst {
                await hub.attach(newer.connection, epoch: 6)
                await hub.attach(older.connection, epoch: 5)
            } else {
                await hub.attach(older.connection, epoch: 5)
                await hub.attach(newer.connection, epoch: 6)
            }
            #expect(await hub.heldEpochs == [7: 6])
            #expect(older.closes.codes == [.replaced])
            #expect(newer.closes.codes.isEmpty)
        }
    }

    @Test("the token check closes the sockets whose checked token is gone, not one that opened while it ran")
    func tokenCheckClosesOnlyCheckedSockets() async throws {
        let registry = PileTokenRegistry()
        let revoked = try await Self.connection(pileID: 1), kept = try await Self.connection(pileID: 2)
        let openedDuringCheck = try await Self.connection(pileID: 3)
        await registry.add(revoked.connection, tokenHash: "a")
        await registry.add(kept.connection, tokenHash: "b")
        let checked = Set(await registry.entries.map(\.tokenHash))
        await registry.add(openedDuringCheck.connection, tokenHash: "c")
        #expect(await registry.closeAll(checked: checked, live: ["b"]) == 1)
        #expect(revoked.closes.codes == [.policyViolation])
        #expect(kept.closes.codes.isEmpty)
        #expect(openedDuringCheck.closes.codes.isEmpty)
        #expect(await registry.closeAll(checked: ["b", "c"], live: ["b"]) == 1)
        #expect(openedDuringCheck.closes.codes == [.policyViolation])
    }

    private static func connection(pileID: Int) async throws -> (connection: PileConnection, closes: CloseRecorder) {
        let closes = CloseRecorder()
        let channel = NIOAsyncTestingChannel()
        try await channel.pipeline.addHandler(closes)
        return (PileConnection(pileID: pileID, channel: channel, session: SilentSession(), writeTimeout: .seconds(1),
                               logger: Logger(label: "test")), closes)
    }
}

/// Records the close requests a connection sends down its channel.
private final class CloseRecorder: ChannelOutboundHandler, Sendable {
    typealias OutboundIn = Any
    private let recorded = NIOLockedValueBox<[WebSocketErrorCode]>([])
    var codes: [WebSocketErrorCode] { recorded.withLockedValue { $0 } }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if let close = event as? PileSocketHandler.Close { recorded.withLockedValue { $0.append(close.code) } }
        promise?.succeed(())
    }
}

private struct SilentSession: PileSession {
    func opened(_ connection: PileConnection) async {}
    func received(_ text: String, on connection: PileConnection) async {}
    func closed(_ connection: PileConnection) async {}
    func deliver(_ instruction: PileInstruction, as command: CommandTicket, on connection: PileConnection) async -> DeliveryOutcome {
        .failed("silent")
    }
}
