public struct PileSpec: Codable, Sendable, Equatable {
    public var id: Int
    public var mode: ChargingMode
    public var powerWatts: Int64

    public init(id: Int, mode: ChargingMode, powerWatts: Int64) {
        self.id = id
        self.mode = mode
        self.powerWatts = powerWatts
    }
}
