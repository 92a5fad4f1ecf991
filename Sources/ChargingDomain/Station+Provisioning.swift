extension Station {
    /// Adds a pile (it starts `off`, like every pile that connects); the rest is untouched.
    public mutating func addPile(_ spec: PileSpec) throws(StationError) {
        guard pileIndex(id: spec.id) == nil else { throw .invalidSettings("pile \(spec.id) exists") }
        var settings = self.settings
        settings.piles.append(spec)
        try settings.validate()
        var next = Station(settings: settings, now: now)
        next.nextRequestID = nextRequestID
        next.nextBillID = nextBillID
        next.numbering = numbering
        next.piles = (piles + [Pile(spec: spec)]).sorted { $0.id < $1.id }
        next.requests = requests
        next.waiting = waiting
        next.displaced = displaced
        self = next
    }
}
