/// An event of one pile in a `PileFleet`.
public struct PileFleetEvent: Sendable, Equatable {
    public var pileID: Int
    public var event: PileSimulatorEvent

    public init(pileID: Int, event: PileSimulatorEvent) {
        self.pileID = pileID
        self.event = event
    }
}
