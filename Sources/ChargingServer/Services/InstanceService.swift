import Logging
import PileRouting
import ServiceLifecycle

/// This instance's life in the `instances` table: register and heartbeat; reap the dead and
/// release piles whose socket is gone; on a graceful stop, close its pile sockets (1001) and take
/// its piles offline.
struct InstanceService: Service {
    let registry: InstanceRegistry
    /// On the control pool, like the registry.
    let pileStates: PileStates
    let hub: PileHub
    let address: String
    let heartbeatInterval: Duration
    let instanceExpiry: Duration
    let logger: Logger

    func run() async throws {
        try await registry.register(address: address)
        // The heartbeat has a loop of its own: sweeping thousands of piles must not delay it past the
        // expiry, or the peers take this instance for dead and its piles are dropped.
        await withDiscardingTaskGroup { group in
            group.addTask { await repeatEveryInterval("heartbeat", heartbeat) }
            group.addTask { await repeatEveryInterval("ownership sweep", sweep) }
        }
        await hub.closeAll()
        _ = try? await registry.reap(expiry: instanceExpiry, includingSelf: true)
    }

    private func repeatEveryInterval(_ name: String, _ step: () async throws -> Void) async {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                try await step()
            } catch {
                logger.warning("\(name) failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: heartbeatInterval)
        }
    }

    private func heartbeat() async throws {
        guard try await !registry.heartbeat() else { return }
        // Taken for dead (e.g. a long database outage): our piles were marked offline.
        logger.warning("instance was reaped; closing pile sockets so piles reconnect")
        await hub.closeAll()
        try await registry.register(address: address)
    }

    /// Piles of dead instances go offline; so do piles the database says we hold but no socket of
    /// ours does (their socket closed while the database was unreachable, so its release was lost).
    private func sweep() async throws {
        for change in try await registry.reap(expiry: instanceExpiry) {
            logger.info("pile of a dead instance marked offline", metadata: ["pile": "\(change.pileID)"])
            await pileStates.hear(change)
        }
        let owned = try await pileStates.store.owned(longerThan: instanceExpiry)
        guard !owned.isEmpty else { return }
        let held = await hub.heldEpochs
        for orphan in owned where held[orphan.pileID] != orphan.epoch {
            guard try await pileStates.release(pileID: orphan.pileID, epoch: orphan.epoch) else { continue }
            logger.info("pile without a socket here marked offline", metadata: ["pile": "\(orphan.pileID)"])
        }
    }
}
