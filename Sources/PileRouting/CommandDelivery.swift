import ChargingDomain
import Foundation
import Logging
import PostgresClient

/// Admin status commands: a row per command (pending → written / failed / expired), a
/// NOTIFY to the pile's owner, and a NOTIFY back to the instance whose admin waits.
public final class CommandDelivery: Sendable {
    let pool: PostgresPool
    let instance: UUID
    let sockets: any PileSockets
    let logger: Logger
    private let waiters = CommandWaiters()
    private let executor = PileCommandExecutor()

    /// How often a waiting request re-reads its row in case a notification was lost.
    static let fallbackPoll: Duration = .milliseconds(250)

    public init(pool: PostgresPool, instance: UUID, sockets: any PileSockets, logger: Logger) {
        self.pool = pool
        self.instance = instance
        self.sockets = sockets
        self.logger = logger
    }

    // MARK: requesting instance

    /// Sends `status` to the pile's socket, wherever it is held, and waits for the
    /// outcome until `timeout`.
    public func send(_ status: PileStatus, toPile pileID: Int, timeout: Duration) async throws -> CommandOutcome {
        let milliseconds = Int64(timeout.inMilliseconds.rounded(.up))
        let sent: Sent = try await pool.withTransaction { connection in
            let owner = try await connection.query(
                "SELECT owner_instance, owner_epoch FROM piles WHERE id = \(pileID) FOR UPDATE")
            guard let row = owner.first else { return .nothing(.unknownPile) }
            guard let ownerInstance = try row.decode("owner_instance", as: UUID?.self) else { return .nothing(.offline) }
            let epoch = try row.decode("owner_epoch", as: Int64.self)
            let id: Int64 = try await connection.query("""
                INSERT INTO pile_commands (pile_id, status, owner_instance, owner_epoch, requester_instance, deadline)
                VALUES (\(pileID), \(status.rawValue), \(ownerInstance), \(epoch), \(instance),
                        now() + make_interval(secs => \(Double(milliseconds) / 1000)))
                RETURNING id
                """).first!.decode("id")
            try await notify(ownerInstance, .command(id: id, pileID: pileID), on: connection)
            return .command(id)
        }
        switch sent {
        case .command(let commandID): return try await awaitOutcome(commandID, deadline: .now + timeout)
        case .nothing(let outcome): return outcome
        }
    }

    /// A command row was inserted, or nothing was sent and why.
    private enum Sent: Sendable {
        case command(Int64)
        case nothing(CommandOutcome)
    }

    private func awaitOutcome(_ id: Int64, deadline: ContinuousClock.Instant) async throws -> CommandOutcome {
        defer { Task { await waiters.forget(id) } }
        while true {
            if let outcome = try await finishedOutcome(id) { return outcome }
            let remaining = deadline - .now
            if remaining <= .zero {
                // The deadline is the database's too: only a still-pending row expires.
                try await pool.execute("""
                    UPDATE pile_commands SET state = 'expired', finished_at = now(), error = 'deadline passed'
                    WHERE id = \(id) AND state = 'pending'
                    """)
                return try await finishedOutcome(id) ?? .expired
            }
            _ = await waiters.wait(id, timeout: min(remaining, Self.fallbackPoll))
        }
    }

    private func finishedOutcome(_ id: Int64) async throws -> CommandOutcome? {
        let state: String? = try await pool.query("SELECT state FROM pile_commands WHERE id = \(id)").first?.decode("state")
        return state.flatMap(CommandOutcome.init(rawValue:)).flatMap { $0 == .expired || $0 == .written || $0 == .failed ? $0 : nil }
    }

    /// A `result` notification arrived for a command this instance may be waiting on.
    public func resultArrived(_ id: Int64) async { await waiters.signal(id) }

    // MARK: owning instance

    /// A `command` notification arrived: run it after the earlier ones for the same pile.
    /// No query here, so the listener goes straight on to its next notification.
    public func commandArrived(_ id: Int64, pileID: Int) async {
        await executor.enqueue(pileID: pileID) { await self.execute(id) }
    }

    /// After every (re)LISTEN: notifications sent meanwhile are lost, the rows are not.
    public func replayPending() async throws {
        let rows = try await pool.query("""
            SELECT id, pile_id FROM pile_commands WHERE owner_instance = \(instance) AND state = 'pending' ORDER BY id
            """)
        for row in rows { await commandArrived(try row.decode("id"), pileID: try row.decode("pile_id")) }
    }

    private struct PendingCommand: Sendable {
        var id: Int64, pileID: Int, epoch: Int64, status: PileStatus, requester: UUID, live: Bool
    }

    /// The command if it is still pending for this instance, read when its turn comes
    /// (it may have expired or been replayed twice meanwhile).
    private func pendingCommand(_ id: Int64) async throws -> PendingCommand? {
        guard let row = try await pool.query("""
            SELECT pile_id, owner_epoch, status, requester_instance, deadline > now() AS live FROM pile_commands
            WHERE id = \(id) AND owner_instance = \(instance) AND state = 'pending'
            """).first, let status = PileStatus(rawValue: try row.decode("status"))
        else { return nil }
        return PendingCommand(id: id, pileID: try row.decode("pile_id"), epoch: try row.decode("owner_epoch"),
                              status: status, requester: try row.decode("requester_instance"), live: try row.decode("live"))
    }

    private func execute(_ id: Int64) async {
        do {
            guard let command = try await pendingCommand(id) else { return }
            guard command.live else {
                try await finish(command, state: "expired", error: "deadline passed before delivery")
                return
            }
            let frame = PileFrame.setStatus(command.status, commandID: command.id)
            guard await sockets.write(frame, toPile: command.pileID, epoch: command.epoch) else {
                try await finish(command, state: "failed", error: "websocket write failed")
                return
            }
            try await finish(command, state: "written", error: nil)
            if command.status == .offline { await sockets.closeOffline(pileID: command.pileID, epoch: command.epoch) }
        } catch {
            logger.error("command delivery failed", metadata: ["command": "\(id)", "error": "\(error)"])
        }
    }

    /// Records the outcome and, once written, the pile's new status, then wakes the requester.
    private func finish(_ command: PendingCommand, state: String, error: String?) async throws {
        try await pool.withTransaction { connection in
            let updated = try await connection.execute("""
                UPDATE pile_commands SET state = \(state), error = \(error), finished_at = now()
                WHERE id = \(command.id) AND state = 'pending'
                """)
            if updated == 1, state == "written" {
                // After `offline` the pile is out of the admin's reach at once, before its socket finishes closing.
                try await connection.execute("""
                    UPDATE piles SET status = \(command.status.rawValue), status_changed_at = now(),
                                     owner_instance = CASE WHEN \(command.status == .offline) THEN NULL ELSE owner_instance END,
                                     connected_since = CASE WHEN \(command.status == .offline) THEN NULL ELSE connected_since END
                    WHERE id = \(command.pileID) AND owner_epoch = \(command.epoch)
                    """)
            }
            try await notify(command.requester, .result(id: command.id), on: connection)
        }
    }
}
