import ChargingStore
import Logging
import NIOWebSocket
import PileRouting
import ServiceLifecycle

/// The pile sockets of this instance with the token each one opened with, so a socket whose
/// token was revoked (`/p/logout`, a new password) or expired is closed.
actor PileTokenRegistry {
    private var sockets: [ObjectIdentifier: (connection: PileConnection, tokenHash: String)] = [:]

    func add(_ connection: PileConnection, tokenHash: String) {
        sockets[ObjectIdentifier(connection)] = (connection, tokenHash)
    }

    func remove(_ connection: PileConnection) {
        sockets[ObjectIdentifier(connection)] = nil
    }

    var entries: [(connection: PileConnection, tokenHash: String)] { Array(sockets.values) }

    /// Closes (1008) every socket whose token was `checked` and is not among `live`; returns how many. A
    /// socket that opened while the check ran (its token not checked) waits for the next check: closing it
    /// for a token nobody looked at closed a pile just logged in.
    func closeAll(checked: Set<String>, live: Set<String>) async -> Int {
        let dead = sockets.filter { checked.contains($0.value.tokenHash) && !live.contains($0.value.tokenHash) }
        for (key, entry) in dead {
            sockets[key] = nil
            await entry.connection.close(.policyViolation, reason: "token revoked or expired")
        }
        return dead.count
    }
}

/// A pile's `/p/ws` session that remembers the token it was opened with.
struct TokenBoundPileSession: PileSession {
    let inner: any PileSession
    let tokenHash: String
    let registry: PileTokenRegistry

    func opened(_ connection: PileConnection) async {
        await registry.add(connection, tokenHash: tokenHash)
        await inner.opened(connection)
    }

    func received(_ text: String, on connection: PileConnection) async {
        await inner.received(text, on: connection)
    }

    func closed(_ connection: PileConnection) async {
        await registry.remove(connection)
        await inner.closed(connection)
    }

    func deliver(_ instruction: PileInstruction, as command: CommandTicket, on connection: PileConnection) async -> DeliveryOutcome {
        await inner.deliver(instruction, as: command, on: connection)
    }
}

/// Every `tokenCheckInterval`: closes pile sockets whose token is gone. Every `purgeInterval`:
/// deletes expired tokens and stale login counters (every instance does; the deletes are idempotent).
struct SessionMaintenanceService: Service {
    let tokens: TokenService
    let authStore: AuthStore
    let registry: PileTokenRegistry
    let tokenCheckInterval: Duration
    let purgeInterval: Duration
    let counterRetention: Duration
    let logger: Logger

    func run() async throws {
        let clock = ContinuousClock()
        var nextPurge = clock.now.advanced(by: purgeInterval)
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                let entries = await registry.entries
                if !entries.isEmpty {
                    let checked = Set(entries.map(\.tokenHash))
                    let live = try await tokens.liveHashes(Array(checked))
                    let closed = await registry.closeAll(checked: checked, live: live)
                    if closed > 0 { logger.info("closed pile sockets whose token was revoked or expired", metadata: ["count": "\(closed)"]) }
                }
                if clock.now >= nextPurge {
                    nextPurge = clock.now.advanced(by: purgeInterval)
                    let purged = try await tokens.purgeExpired()
                    try await authStore.purgeCounters(olderThan: counterRetention)
                    if purged > 0 { logger.debug("purged expired tokens", metadata: ["count": "\(purged)"]) }
                }
            } catch {
                logger.debug("session maintenance failed", metadata: ["error": "\(error)"])
            }
            // Woken by a graceful shutdown: the services after this one stop in turn, and must not wait out the interval.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: tokenCheckInterval) }
        }
    }
}
