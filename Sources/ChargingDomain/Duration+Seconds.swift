/// The one home of `Duration` → number conversions, sub-second parts always included
/// (`--offline-grace 0.5` is half a second, not zero).
extension Duration {
    public var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }

    public var inMilliseconds: Double { inSeconds * 1000 }

    public var inNanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}
