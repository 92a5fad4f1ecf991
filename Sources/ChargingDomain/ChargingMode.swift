public enum ChargingMode: String, Codable, Sendable, CaseIterable {
    case fast = "F"
    case slow = "T"
}
