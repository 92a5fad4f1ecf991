/// A charger's power limit as the station knows it (site load management).
struct PilePower: Codable, Sendable, Equatable {
    /// The limit last sent to the charger that it has not answered yet.
    var pendingWatts: Int64?
    /// The highest of the limits sent since the charger last answered the latest one: until it does, any of
    /// them may be in force.
    var pendingCeilingWatts: Int64?
    /// The limit the charger last acknowledged; nil: none, so it may draw its full power.
    var acknowledgedWatts: Int64?
    /// The charger rejected a limit, doesn't support one or never answered: it counts at its full power
    /// until it acknowledges one.
    var refusesLimits = false
    /// The number of the last limit sent to this charger (1, 2, …): an answer names the limit it answers.
    var sequence: Int64 = 0
    /// What the car that was stopped here may still draw until the charger has taken the stop (a stop is a
    /// reduction to nothing, so it too is confirmed before the increases it makes room for).
    var stoppingWatts: Int64?

    /// Nothing is known or outstanding: the charger may draw its full power.
    var isReleased: Bool {
        pendingWatts == nil && pendingCeilingWatts == nil && acknowledgedWatts == nil && !refusesLimits && stoppingWatts == nil
    }

    /// The limit the charger is being held to once it has taken what was sent: the pending one, else the acknowledged one.
    var instructedWatts: Int64? { pendingWatts ?? acknowledgedWatts }

    /// Returns the limit's number.
    mutating func sent(_ watts: Int64) -> Int64 {
        sequence += 1
        pendingWatts = watts
        pendingCeilingWatts = max(pendingCeilingWatts ?? 0, watts)
        return sequence
    }

    /// A charger answers its limits in the order they were sent: once the latest one is answered, none is outstanding.
    mutating func acknowledged(_ watts: Int64, sequence answered: Int64) {
        acknowledgedWatts = watts
        // A pile's instructions are delivered in order: a stop sent before this limit has been taken.
        stoppingWatts = nil
        if answered == sequence {
            pendingWatts = nil
            pendingCeilingWatts = nil
        }
        refusesLimits = false
    }

    mutating func refused() {
        pendingWatts = nil
        pendingCeilingWatts = nil
        acknowledgedWatts = nil
        refusesLimits = true
    }

    /// The charger lost what it was sent and acknowledged (a reboot): nothing is in force or outstanding, so it
    /// may draw its full power, and it is no longer taken to refuse limits. A stop it has not taken still counts.
    mutating func forgotten() {
        self = PilePower(sequence: sequence, stoppingWatts: stoppingWatts)
    }

    /// No limit any more; the numbering goes on, so that a late answer is never taken for a later limit's.
    mutating func release() {
        self = PilePower(sequence: sequence)
    }
}
