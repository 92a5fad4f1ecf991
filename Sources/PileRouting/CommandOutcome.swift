/// How an admin status command ended, as its row records it.
public enum CommandOutcome: String, Sendable, Equatable {
    case written, failed, expired
    /// No instance holds the pile's socket: nothing was sent.
    case offline
    /// No such pile.
    case unknownPile
}
