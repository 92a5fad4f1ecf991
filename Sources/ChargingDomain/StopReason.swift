public enum StopReason: String, Codable, Sendable {
    case completed, cancelled, fault, off
    /// The station's power limit no longer leaves this car its minimum: it waits at the head of its pile's queue.
    case paused
}
