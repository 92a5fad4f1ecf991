import ChargingDomain

/// The pile sessions this instance holds, as routing needs them. The server's hub
/// implements it; routing never sees a socket type or a protocol.
public protocol PileSockets: Sendable {
    /// Delivers an instruction through the pile's session if this instance holds it at `epoch`,
    /// in the pile's own protocol, and says how the pile took it by `command.deadline`.
    func deliver(_ instruction: PileInstruction, as command: CommandTicket, toPile pileID: Int, epoch: Int64) async -> DeliveryOutcome
    /// Closes the pile's socket if this instance holds it at an epoch older than `epoch`.
    func closeReplaced(pileID: Int, newerEpoch: Int64) async
    /// Closes the pile's socket after an `offline` command was written to it.
    func closeOffline(pileID: Int, epoch: Int64) async
}

/// The `pile_commands` row an instruction comes from: its id, and its deadline, the only one: a pile's
/// answer is waited for until then (an OCPP CALL times out at it), and one that comes later is
/// recorded on the row as late (`CommandDelivery.recordLateAnswer`).
public struct CommandTicket: Sendable, Equatable {
    public var id: Int64
    public var deadline: ContinuousClock.Instant

    public init(id: Int64, deadline: ContinuousClock.Instant) {
        self.id = id
        self.deadline = deadline
    }
}
