/// An operator's reservation: the pile is kept for `driver` from `from` until `until` (station time). While it
/// lasts, dispatch places no other driver's car on the pile whose modelled charging there would overlap it.
public struct PileReservation: Sendable, Equatable, Codable {
    public var id: Int64
    public var pileID: Int
    public var driver: String
    public var from: Instant
    public var until: Instant

    public init(id: Int64, pileID: Int, driver: String, from: Instant, until: Instant) {
        self.id = id
        self.pileID = pileID
        self.driver = driver
        self.from = from
        self.until = until
    }

    func overlaps(from start: Instant, until end: Instant) -> Bool {
        start < until && end > from
    }
}
