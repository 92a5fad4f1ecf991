/// How a message to a pile ended, as its row records it.
public enum CommandOutcome: String, Sendable, Equatable {
    case pending, written, failed, expired
    /// The pile answered and refused (an OCPP charger's Rejected or CALLERROR).
    case rejected
    /// No instance holds the pile's socket: nothing was sent.
    case offline
    /// No such pile.
    case unknownPile
}

/// The outcome of a message to a pile, and the pile's answer (JSON text) when it gave one.
public struct CommandResult: Sendable, Equatable {
    public var outcome: CommandOutcome
    public var answer: String?
}
