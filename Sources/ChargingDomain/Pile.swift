/// A pile's state inside the station.
struct Pile: Codable, Sendable, Equatable {
    var spec: PileSpec
    var status: PileStatus = .off
    /// Request ids; the first one charges while the pile is working (a non-working pile is always empty).
    var queue: [Int64] = []
    var session: ChargingSession?
    var totals = PileTotals()
    /// The charger's power limit as far as the station knows it (site load management).
    var power = PilePower()

    var id: Int { spec.id }
    var mode: ChargingMode { spec.mode }
    var powerWatts: Int64 { spec.powerWatts }
    /// The power the charging car is modelled at: its allocation under a station limit, else the pile's power.
    var modelledPowerWatts: Int64 { session?.powerWatts ?? spec.powerWatts }
}
