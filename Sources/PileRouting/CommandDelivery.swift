import ChargingDomain
import ChargingStore
import Foundation
import Logging
import PostgresClient

/// Everything sent to a pile: a row per message (pending → written / rejected / failed / expired),
/// written in the transaction that decided it, a NOTIFY to the pile's owner, which delivers a
/// pile's rows in order through its pile session, and for an admin's command a NOTIFY back to
/// the instance whose admin waits. After every (re)LISTEN the owner replays its pending rows.
public final class CommandDelivery: Sendable {
    let pool: PostgresPool
    let instance: UUID
    let sockets: any PileSockets
    let logger: Logger
    /// Told of every pile state a written status command changed (the station's engine may have to hear of it).
    let statusWritten: @Sendable (PileStateChange) async -> Void
    /// Told how every instruction of the engine ended (a power limit's answer changes what the engine counts on).
    let instructionFinished: @Sendable (_ pileID: Int, PileInstruction, DeliveryOutcome) async -> Void
    private let waiters = CommandWaiters()
    private let executor = PileCommandExecutor()

    /// How often a waiting request re-reads its row in case a notification was lost.
    static let fallbackPoll: Duration = .milliseconds(250)

    public init(pool: PostgresPool, instance: UUID, sockets: any PileSockets, logger: Logger,
                statusWritten: @escaping @Sendable (PileStateChange) async -> Void = { _ in },
                instructionFinished: @escaping @Sendable (_ pileID: Int, PileInstruction, DeliveryOutcome) async -> Void = { _, _, _ in }) {
        self.instructionFinished = instructionFinished
        self.pool = pool
        self.instance = instance
        self.sockets = sockets
        self.logger = logger
        self.statusWritten = statusWritten
    }

    // MARK: requesting instance

    /// Sends `status` to the pile's socket, wherever it is held, and waits for the
    /// outcome until `timeout`.
    public func send(_ status: PileStatus, toPile pileID: Int, timeout: Duration) async throws -> CommandOutcome {
        try await send(.status(status), toPile: pileID, timeout: timeout).outcome
    }

    /// Sends an operator's OCPP call to the pile, wherever it is held, and waits for the
    /// charger's answer until `timeout`.
    public func sendOCPPCall(action: String, payload: String, toPile pileID: Int, timeout: Duration) async throws -> CommandResult {
        try await send(.instruction(.ocppCall(action: action, payload: payload)), toPile: pileID, timeout: timeout)
    }

    private enum Content {
        case status(PileStatus)
        case instruction(PileInstruction)
    }

    /// One statement, so one round trip: the pile's row is locked while the command row is written
    /// (its owner and epoch can't change meanwhile), and the owner's NOTIFY goes out at its commit.
    private func send(_ content: Content, toPile pileID: Int, timeout: Duration) async throws -> CommandResult {
        let seconds = Double(Int64(timeout.inMilliseconds.rounded(.up))) / 1000
        let (status, instruction): (String?, String?) = switch content {
        case .status(let status): (status.rawValue, nil)
        case .instruction(let instruction): (nil, try Self.json(instruction))
        }
        let row = try await pool.query("""
            WITH owner AS (SELECT id, owner_instance, owner_epoch FROM piles WHERE id = \(pileID) FOR UPDATE),
            command AS (
                INSERT INTO pile_commands (pile_id, status, instruction, owner_instance, owner_epoch, requester_instance, deadline)
                SELECT id, \(status), \(instruction)::jsonb, owner_instance, owner_epoch, \(instance),
                       now() + make_interval(secs => \(seconds))
                FROM owner WHERE owner_instance IS NOT NULL
                RETURNING id, pile_id, owner_instance)
            SELECT (SELECT count(*) FROM owner) > 0 AS pile_exists, command.id,
                   CASE WHEN command.id IS NOT NULL THEN \(unsafeRaw: Self.notifyOwner) END AS notified
            FROM (SELECT 1) AS always LEFT JOIN command ON true
            """).first!
        guard try row.decode("pile_exists", as: Bool.self) else { return CommandResult(outcome: .unknownPile, answer: nil) }
        guard let commandID = try row.decode("id", as: Int64?.self) else { return CommandResult(outcome: .offline, answer: nil) }
        return try await awaitOutcome(commandID, needsAnswer: instruction != nil, deadline: .now + timeout)
    }

    /// Queues an instruction of the station engine for the pile, in the transaction that decided
    /// it, in one statement; nobody waits for it. Nothing is queued when no instance holds the pile, nor, with `onlyOverProtocol`,
    /// when the pile speaks another protocol (an instruction only that protocol has a message for).
    public static func enqueue(_ instruction: PileInstruction, toPile pileID: Int, deadline: Duration,
                               onlyOverProtocol wanted: String? = nil, on connection: PostgresConnection) async throws {
        _ = try await connection.query("""
            WITH command AS (
                INSERT INTO pile_commands (pile_id, instruction, owner_instance, owner_epoch, deadline)
                SELECT id, \(try json(instruction))::jsonb, owner_instance, owner_epoch, now() + make_interval(secs => \(deadline.inSeconds))
                FROM piles
                WHERE id = \(pileID) AND owner_instance IS NOT NULL AND (\(wanted)::text IS NULL OR protocol = \(wanted))
                RETURNING id, pile_id, owner_instance)
            SELECT \(unsafeRaw: notifyOwner) FROM command
            """)
    }

    /// The owner's `command` NOTIFY of a `command` row just inserted (`id`, `pile_id`, `owner_instance`):
    /// `instanceChannel(owner)` and `RoutingMessage.command`'s payload, spelled in SQL because the owner is
    /// only known there; `RoutingMessageTests` and the cluster tests hold the two together.
    private static let notifyOwner = """
        pg_notify('chargepile_' || replace(command.owner_instance::text, '-', ''), 'command:' || command.id || ':' || command.pile_id)
        """

    static func json(_ instruction: PileInstruction) throws -> String {
        String(decoding: try JSONEncoder().encode(instruction), as: UTF8.self)
    }

    private func awaitOutcome(_ id: Int64, needsAnswer: Bool, deadline: ContinuousClock.Instant) async throws -> CommandResult {
        do {
            let result = try await pollOutcome(id, needsAnswer: needsAnswer, deadline: deadline)
            await waiters.forget(id)
            return result
        } catch {
            await waiters.forget(id)
            throw error
        }
    }

    /// A status command needs only its outcome, which the `result` notification carries; an
    /// instruction's answer is read from its row.
    private func pollOutcome(_ id: Int64, needsAnswer: Bool, deadline: ContinuousClock.Instant) async throws -> CommandResult {
        while true {
            let remaining = deadline - .now
            if remaining <= .zero {
                // The deadline is the database's too: only a still-pending row expires.
                try await pool.execute("""
                    UPDATE pile_commands SET state = 'expired', finished_at = now(), error = 'deadline passed'
                    WHERE id = \(id) AND state = 'pending'
                    """)
                return try await finishedResult(id) ?? CommandResult(outcome: .expired, answer: nil)
            }
            let wake = await waiters.wait(id, timeout: min(remaining, Self.fallbackPoll))
            if case .signalled(let outcome?) = wake, !needsAnswer, outcome != .pending {
                return CommandResult(outcome: outcome, answer: nil)
            }
            if let result = try await finishedResult(id) { return result }
        }
    }

    private func finishedResult(_ id: Int64) async throws -> CommandResult? {
        guard let row = try await pool.query("SELECT state, answer::text AS answer FROM pile_commands WHERE id = \(id)").first,
              let outcome = CommandOutcome(rawValue: try row.decode("state")), outcome != .pending
        else { return nil }
        return CommandResult(outcome: outcome, answer: try row.decode("answer"))
    }

    /// A `result` notification arrived for a command this instance may be waiting on.
    public func resultArrived(_ id: Int64, outcome: CommandOutcome?) async { await waiters.signal(id, outcome: outcome) }

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
        var id: Int64, pileID: Int, epoch: Int64, status: PileStatus?, instruction: PileInstruction, requester: UUID?
        /// The row's deadline on this process's clock.
        var deadline: ContinuousClock.Instant
        var live: Bool { deadline > .now }
    }

    /// The command if it is still pending for this instance, read when its turn comes
    /// (it may have expired or been replayed twice meanwhile).
    private func pendingCommand(_ id: Int64) async throws -> PendingCommand? {
        guard let row = try await pool.query("""
            SELECT pile_id, owner_epoch, status, instruction::text AS instruction, requester_instance,
                   extract(epoch FROM deadline - now())::float8 AS remaining
            FROM pile_commands WHERE id = \(id) AND owner_instance = \(instance) AND state = 'pending'
            """).first
        else { return nil }
        let status = try row.decode("status", as: String?.self).flatMap(PileStatus.init(rawValue:))
        let instruction: PileInstruction
        if let status {
            instruction = .setStatus(status, commandID: id)
        } else if let json = try row.decode("instruction", as: String?.self) {
            instruction = try JSONDecoder().decode(PileInstruction.self, from: Data(json.utf8))
        } else {
            return nil
        }
        return PendingCommand(id: id, pileID: try row.decode("pile_id"), epoch: try row.decode("owner_epoch"), status: status,
                              instruction: instruction, requester: try row.decode("requester_instance"),
                              deadline: .now + .seconds(try row.decode("remaining", as: Double.self)))
    }

    private func execute(_ id: Int64) async {
        do {
            guard let command = try await pendingCommand(id) else { return }
            guard command.live else {
                try await finish(command, state: .expired, error: "deadline passed before delivery", answer: nil)
                if command.status == nil { await instructionFinished(command.pileID, command.instruction, .failed("deadline passed")) }
                return
            }
            let outcome = await sockets.deliver(command.instruction, as: CommandTicket(id: command.id, deadline: command.deadline),
                                                toPile: command.pileID, epoch: command.epoch)
            switch outcome {
            case .delivered(let answer):
                try await finish(command, state: .written, error: nil, answer: answer)
                if command.status == .offline { await sockets.closeOffline(pileID: command.pileID, epoch: command.epoch) }
            case .rejected(let answer):
                try await finish(command, state: .rejected, error: "refused by the pile", answer: answer)
            case .failed(let reason):
                try await finish(command, state: .failed, error: reason, answer: nil)
            case .unsupported:
                try await finish(command, state: .failed, error: "not supported by the pile's protocol", answer: nil)
            }
            if command.status == nil { await instructionFinished(command.pileID, command.instruction, outcome) }
        } catch {
            logger.error("command delivery failed", metadata: ["command": "\(id)", "error": "\(error)"])
        }
    }

    /// Records the outcome and, once written, the pile's new status, then wakes the requester: after the
    /// station's engine has taken a new status in, so that an admin's answer means the schedule follows it
    /// (a manual station clock advanced right after must not find the status still on its way). One
    /// statement when the engine needs not hear: the requester's NOTIFY goes out at its commit.
    private func finish(_ command: PendingCommand, state: CommandOutcome, error: String?, answer: String?) async throws {
        let newStatus = state == .written ? command.status?.rawValue : nil
        let wake = command.requester.map { (channel: instanceChannel($0), payload: RoutingMessage.result(id: command.id, outcome: state).payload) }
        let row = try await pool.query("""
            WITH finished AS (
                UPDATE pile_commands SET state = \(state.rawValue), error = \(error), answer = \(answer)::jsonb, finished_at = now()
                WHERE id = \(command.id) AND state = 'pending'
                RETURNING id),
            before AS (
                SELECT id, status FROM piles
                WHERE id = \(command.pileID) AND \(newStatus)::text IS NOT NULL AND EXISTS (SELECT FROM finished)
                FOR UPDATE),
            written AS (
                UPDATE piles p SET status = \(newStatus), status_changed_at = now(),
                                   owner_instance = CASE WHEN \(newStatus) = 'offline' THEN NULL ELSE owner_instance END,
                                   connected_since = CASE WHEN \(newStatus) = 'offline' THEN NULL ELSE connected_since END
                FROM before
                WHERE p.id = before.id AND p.owner_epoch = \(command.epoch)
                RETURNING p.id, p.station_id, before.status <> p.status AS changed, station_has_cars(p.station_id) AS has_cars)
            SELECT written.*,
                   CASE WHEN \(wake?.channel)::text IS NOT NULL AND NOT coalesce(written.changed AND written.has_cars, false)
                        THEN pg_notify(\(wake?.channel), \(wake?.payload)) END AS woken
            FROM (SELECT 1) AS always LEFT JOIN written ON true
            """).first!
        guard let pileID = try row.decode("id", as: Int?.self) else { return }
        let change = PileStateChange(pileID: pileID, stationID: try row.decode("station_id"), statusChanged: try row.decode("changed"),
                                     stationHasCars: try row.decode("has_cars"))
        await statusWritten(change)
        if change.engineMustHear, let requester = command.requester {
            try await pool.withConnection { try await notify(requester, .result(id: command.id, outcome: state), on: $0) }
        }
    }
}
