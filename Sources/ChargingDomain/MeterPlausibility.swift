/// What a pile's meter can have measured: no more than its power during the session, with a tolerance for
/// meters and clocks (2 % and 5 Wh). A reading above it is impossible and refused; so is one that goes backwards.
public enum MeterPlausibility {
    /// Relative tolerance, in percent of power × time.
    public static let tolerancePercent: Int64 = 2
    /// Absolute tolerance: 5 Wh.
    public static let toleranceEnergy = Energy(wattMilliseconds: 5 * Energy.wattMillisecondsPerKWh / 1_000)

    /// The most energy a pile of `powerWatts` can deliver in `milliseconds`, tolerance included.
    public static func maximum(powerWatts: Int64, during milliseconds: Int64) -> Energy {
        let nominal = powerWatts * max(0, milliseconds)
        return Energy(wattMilliseconds: nominal + nominal / 100 * tolerancePercent) + toleranceEnergy
    }

    public static func allows(_ reading: Energy, powerWatts: Int64, during milliseconds: Int64) -> Bool {
        reading <= maximum(powerWatts: powerWatts, during: milliseconds)
    }
}
