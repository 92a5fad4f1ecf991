extension Station {
    /// A newly provisioned pile joins the station, `off` like every pile that connects; the rest is untouched.
    public mutating func addPile(_ spec: PileSpec) throws(StationError) {
        guard pileIndex(id: spec.id) == nil else { throw .pileAlreadyExists }
        var settings = self.settings
        settings.piles.append(spec)
        settings.piles.sort { $0.id < $1.id }
        try settings.validate()
        self.settings = settings
        piles.append(Pile(spec: spec))
        piles.sort { $0.id < $1.id }
    }
}
