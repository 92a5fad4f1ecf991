/// Milliseconds since the Unix epoch, UTC. The engine never reads a clock: every instant is injected.
public typealias Instant = Int64

enum Milliseconds {
    static let perSecond: Int64 = 1_000
    static let perHour: Int64 = 3_600_000
}

/// Floor division and modulo for possibly negative values (instants before 1970 stay correct).
func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
    let quotient = value / divisor
    return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient
}

func ceilDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
    -floorDivide(-value, divisor)
}
