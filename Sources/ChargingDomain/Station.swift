import Foundation

/// The whole state of one station and its pure, deterministic discrete-event engine:
/// `(state, command, time) → (state, effects)`. It never reads a clock; time only moves forward.
/// It round-trips through JSONEncoder/JSONDecoder exactly, so the shell can persist it between steps.
public struct Station: Codable, Sendable, Equatable {
    public private(set) var settings: StationSettings
    public private(set) var now: Instant
    var nextRequestID: Int64 = 1
    var nextBillID: Int64 = 1
    var numbering = QueueNumbering()
    /// Ordered by pile id.
    var piles: [Pile]
    /// Every active request, in id order.
    var requests: [ChargingRequest] = []
    /// Request ids in arrival order (a mode change moves a car to the end).
    var waiting: [Int64] = []
    /// Request ids of cars taken off a faulty pile (rule 7), in placement order per mode.
    var displaced: [Int64] = []

    /// Every pile starts `off`: a pile that connects starts off and an admin switches it on.
    public init(settings: StationSettings, now: Instant) {
        self.settings = settings
        self.now = now
        piles = settings.piles.sorted { $0.id < $1.id }.map { Pile(spec: $0) }
    }

    /// Advances to `time` (completions due at or before it happen first, rule 4), then applies the command.
    /// All or nothing: when it throws, the station is unchanged, not even advanced.
    /// A `time` before `now` is taken as `now`.
    public mutating func apply(_ command: StationCommand, at time: Instant) throws(StationError) -> [StationEffect] {
        var next = self
        var effects = next.advance(to: time)
        effects += try next.handle(command)
        self = next
        return effects
    }

    /// Applies every completion and the dispatch after it up to `time`, each at its own instant.
    /// Completions due at the same instant are handled in pile-id order, then dispatch runs once.
    public mutating func advance(to time: Instant) -> [StationEffect] {
        var effects: [StationEffect] = []
        while let due = nextEventTime, due <= time {
            now = max(now, due)
            for index in piles.indices where piles[index].session.map({ $0.completesAt <= now }) ?? false {
                effects += complete(pileAt: index)
            }
            effects += dispatch()
        }
        now = max(now, time)
        return effects
    }

    /// A copy advanced to `time`, for reading views at an instant without keeping the step.
    public func advanced(to time: Instant) -> Station {
        var copy = self
        _ = copy.advance(to: time)
        return copy
    }

    /// The next completion, for the ticker that drives time; nil while nothing charges.
    public var nextEventTime: Instant? {
        piles.compactMap { $0.session?.completesAt }.min()
    }
}
