import Foundation

/// The whole state of one station and its pure, deterministic discrete-event engine:
/// `(state, command, time) → (state, effects)`. It never reads a clock; time only moves forward.
/// It is stored as a `StationSnapshot` (an explicit, versioned format, `StationSnapshot.encode`/`decodeStation`),
/// never through its own `Codable` conformance: that synthesized encoding is version 0, what chargepile stored
/// before the format had versions, and may change with any refactoring of these properties.
///
/// SCHEDULING.md, with the readings chosen where it leaves room (they reproduce the official case,
/// 01:35 end time included):
/// - Times are exact integers: energy in W·ms, time in ms. A charging time that is not a whole ms is
///   rounded up, both for the completion instant and for the completion times dispatch compares.
/// - Completions due at one instant are all handled (pile-id order), then dispatch runs once.
/// - Arrival: the car joins the waiting area and dispatch runs; it is refused if it is still waiting and the
///   area then holds more than N. Displaced cars do not count toward N.
/// - Best pile: ties go to the lowest pile id. A displaced car is never sent back to the waiting area.
/// - Modify: displaced, queued and charging cars are not in the waiting area. A mode change moves the car to
///   the end of the waiting area; it keeps its submission time (for `waitingSeconds`).
/// - Fault: `off` stops the car with reason `off`; `repair` and `offline` with `fault` (the shell decides
///   when an offline pile is past its grace period). With `priority` the pile's cars go after any cars of
///   that mode still displaced from an earlier fault. A change between non-working statuses is only recorded.
/// - Recovery re-places the other piles' queued cars under either policy (rule 8 as written).
/// - Every stopped session is billed, even one that lasted 0 ms.
/// - Meter readings: see `StationCommand.meter`.
public struct Station: Codable, Sendable, Equatable {
    public internal(set) var settings: StationSettings
    public internal(set) var now: Instant
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
    /// Operators' reservations that have not ended, in id order.
    public internal(set) var reservations: [PileReservation] = []

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
        let held = reservationHolders
        var effects = next.advanceSteps(to: time)
        effects += try next.handle(command)
        effects += next.rebalancePower()
        effects += next.reservationChanges(since: held)
        self = next
        return effects
    }

    /// Applies every completion and the dispatch after it up to `time`, each at its own instant.
    /// Completions due at the same instant are handled in pile-id order, then dispatch runs once.
    public mutating func advance(to time: Instant) -> [StationEffect] {
        let held = reservationHolders
        let effects = advanceSteps(to: time)
        return effects + reservationChanges(since: held)
    }

    private mutating func advanceSteps(to time: Instant) -> [StationEffect] {
        var effects: [StationEffect] = []
        while let due = nextEventTime, due <= time {
            now = max(now, due)
            for index in piles.indices where piles[index].session.map({ $0.completesAt <= now }) ?? false {
                effects += complete(pileAt: index)
            }
            reservations.removeAll { $0.until <= now }
            effects += dispatch()
            effects += rebalancePower()
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

    /// The next completion or end of a reservation (cars held back by it may go then), for the ticker that
    /// drives time; nil while nothing charges and nothing is reserved.
    public var nextEventTime: Instant? {
        (piles.compactMap { $0.session?.completesAt } + reservations.map(\.until)).min()
    }
}
