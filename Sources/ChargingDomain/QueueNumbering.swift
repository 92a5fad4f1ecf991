/// The next per-mode counters; a number is taken only when a request is accepted, and never reused.
struct QueueNumbering: Codable, Sendable, Equatable {
    var nextFast = 1
    var nextSlow = 1

    mutating func take(_ mode: ChargingMode) -> Int {
        switch mode {
        case .fast:
            defer { nextFast += 1 }
            return nextFast
        case .slow:
            defer { nextSlow += 1 }
            return nextSlow
        }
    }
}
