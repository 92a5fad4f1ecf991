/// How the cars of a faulty pile are re-placed (SCHEDULING.md rule 7).
public enum FaultPolicy: String, Codable, Sendable {
    /// The faulty pile's cars are placed before anyone else of that mode.
    case priority
    /// The faulty pile's cars and the other same-mode piles' queued cars are re-placed together, by number.
    case timeOrder = "time_order"
}
