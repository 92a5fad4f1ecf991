public struct PileSpec: Codable, Sendable, Equatable {
    public var id: Int
    public var mode: ChargingMode
    public var powerWatts: Int64
    /// The least power a car can charge at on this pile, under a station power limit; nil: the station's default
    /// (`StationSettings.defaultMinimumPowerWatts`).
    public var minimumPowerWatts: Int64?

    public init(id: Int, mode: ChargingMode, powerWatts: Int64, minimumPowerWatts: Int64? = nil) {
        self.id = id
        self.mode = mode
        self.powerWatts = powerWatts
        self.minimumPowerWatts = minimumPowerWatts
    }

    /// The least power a car can charge at here (never above the pile's power).
    public var effectiveMinimumPowerWatts: Int64 {
        min(minimumPowerWatts ?? StationSettings.defaultMinimumPowerWatts, powerWatts)
    }
}
