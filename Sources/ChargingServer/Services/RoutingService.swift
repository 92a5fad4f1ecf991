import Logging
import PileRouting
import PostgresClient
import ServiceLifecycle

/// Listens on this instance's channel and dispatches what other instances send:
/// commands for the piles it holds, outcomes for the admins waiting on it, frames.
struct RoutingService: Service {
    let listener: PostgresListener
    let channel: String
    let delivery: CommandDelivery
    let hub: PileHub
    let logger: Logger

    func run() async throws {
        try await listener.listen(channel)
        try await cancelWhenGracefulShutdown {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await listener.run() }
                group.addTask {
                    for await event in listener.events {
                        await handle(event)
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        }
    }

    private func handle(_ event: PostgresListener.Event) async {
        switch event {
        case .reconnected:
            ServerMetrics.listenerReconnected()
            // Notifications sent while we were away are lost; the command rows are not.
            do { try await delivery.replayPending() } catch {
                logger.warning("replaying pending commands failed", metadata: ["error": "\(error)"])
            }
        case .notification(let notification):
            switch RoutingMessage(payload: notification.payload) {
            case .command(let id, let pileID): await delivery.commandArrived(id, pileID: pileID)
            case .result(let id, let outcome): await delivery.resultArrived(id, outcome: outcome)
            case .replaced(let pileID, let epoch): await hub.closeReplaced(pileID: pileID, newerEpoch: epoch)
            case nil: logger.warning("unknown routing message")
            }
        }
    }
}
