public enum StopReason: String, Codable, Sendable {
    case completed, cancelled, fault, off
}
