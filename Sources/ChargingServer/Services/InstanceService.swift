import Logging
import PileRouting
import ServiceLifecycle

/// This instance's life in the `instances` table: register, heartbeat, reap the dead;
/// release piles whose socket is gone; on a graceful stop, close its pile sockets (1001)
/// and take its piles offline.
struct InstanceService: Service {
    let registry: InstanceRegistry
    let ownership: PileOwnership
    let hub: PileHub
    let stations: StationService
    let address: String
    let heartbeatInterval: Duration
    let instanceExpiry: Duration
    let logger: Logger

    func run() async throws {
        try await registry.register(address: address)
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                if try await !registry.heartbeat() {
                    // Taken for dead (e.g. a long database outage): our piles were marked offline.
                    logger.warning("instance was reaped; closing pile sockets so piles reconnect")
                    await hub.closeAll()
                    try await registry.register(address: address)
                }
                for pileID in try await registry.reap(expiry: instanceExpiry) {
                    logger.info("pile of a dead instance marked offline", metadata: ["pile": "\(pileID)"])
                    await stations.pileStatusChanged(pileID: pileID)
                }
                try await releaseOrphans()
            } catch {
                logger.warning("heartbeat failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: heartbeatInterval)
        }
        await hub.closeAll()
        _ = try? await registry.reap(expiry: instanceExpiry, includingSelf: true)
    }

    /// Piles the database says we hold but no socket of ours does: their socket closed while the
    /// database was unreachable, so its release was lost. They go offline now.
    private func releaseOrphans() async throws {
        let owned = try await ownership.owned(longerThan: instanceExpiry)
        guard !owned.isEmpty else { return }
        let held = await hub.heldEpochs
        for orphan in owned where held[orphan.pileID] != orphan.epoch {
            guard try await ownership.release(pileID: orphan.pileID, epoch: orphan.epoch) else { continue }
            logger.info("pile without a socket here marked offline", metadata: ["pile": "\(orphan.pileID)"])
            await stations.pileStatusChanged(pileID: orphan.pileID)
        }
    }
}
