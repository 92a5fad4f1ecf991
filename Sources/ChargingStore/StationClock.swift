import Foundation

/// Station time, derived the same way by every instance from the `stations` row:
/// real time, real time sped up from an origin, or a manual clock moved by admins.
public struct StationClock: Sendable, Equatable {
    public enum Mode: String, Sendable, Codable, CaseIterable { case real, scaled, manual }

    public var mode: Mode
    public var speed: Double
    public var realOrigin: Date
    public var stationOrigin: Date
    /// Station time at the moment of reading.
    public var now: Date

    public init(mode: Mode, speed: Double, realOrigin: Date, stationOrigin: Date, realNow: Date) {
        self.mode = mode
        self.speed = speed
        self.realOrigin = realOrigin
        self.stationOrigin = stationOrigin
        switch mode {
        case .real: now = realNow
        case .scaled: now = stationOrigin.addingTimeInterval(realNow.timeIntervalSince(realOrigin) * speed)
        case .manual: now = stationOrigin
        }
    }
}

extension StationClock {
    /// The real time at which station time reaches `stationTime` (a manual clock: as far from now as it is from
    /// the station's now).
    public func realTime(atStation stationTime: Date) -> Date {
        switch mode {
        case .real: stationTime
        case .scaled: realOrigin.addingTimeInterval(stationTime.timeIntervalSince(stationOrigin) / max(speed, .leastNonzeroMagnitude))
        case .manual: Date.now.addingTimeInterval(stationTime.timeIntervalSince(now))
        }
    }
}

extension Date {
    /// Milliseconds since the epoch: the engine's `Instant`.
    public var instant: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }

    public init(instant: Int64) { self.init(timeIntervalSince1970: Double(instant) / 1000) }
}
