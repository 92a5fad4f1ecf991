/// A pile's state inside the station.
struct Pile: Codable, Sendable, Equatable {
    let spec: PileSpec
    var status: PileStatus = .off
    /// Request ids; the first one charges while the pile is working (a non-working pile is always empty).
    var queue: [Int64] = []
    var session: ChargingSession?
    var totals = PileTotals()

    var id: Int { spec.id }
    var mode: ChargingMode { spec.mode }
    var powerWatts: Int64 { spec.powerWatts }
}
