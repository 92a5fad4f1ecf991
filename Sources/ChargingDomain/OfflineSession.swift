import Foundation

/// A charging session the station heard of only after it started (a charger's offline backlog): its
/// figures as the charger sent them, and the period its bill covers. The engine never schedules it.
public struct OfflineSession: Sendable, Equatable {
    /// The charger's timestamps, in station time (ms).
    public var chargerStart: Instant
    public var chargerStop: Instant
    /// meterStop − meterStart.
    public var meteredWh: Int64
    public var powerWatts: Int64
    /// When the pile was provisioned (nil: unknown, not checked).
    public var provisionedAt: Instant?

    /// How far ahead of the station's clock a charger's timestamp may be.
    public static let clockToleranceMs: Int64 = 300_000

    public init(chargerStart: Instant, chargerStop: Instant, meteredWh: Int64, powerWatts: Int64, provisionedAt: Instant?) {
        self.chargerStart = chargerStart
        self.chargerStop = chargerStop
        self.meteredWh = meteredWh
        self.powerWatts = powerWatts
        self.provisionedAt = provisionedAt
    }

    /// What makes a session's figures implausible.
    public enum Flag: String, Sendable, CaseIterable {
        case startInFuture = "start_in_future"
        case stopInFuture = "stop_in_future"
        case startBeforeProvisioning = "start_before_provisioning"
        case stopBeforeStart = "stop_before_start"
        /// The pile could not have delivered the metered energy in the charger's time.
        case energyBeyondPower = "energy_beyond_power"
        /// The meter ran backwards (meterStop < meterStart) or beyond what any session delivers (`Energy.maximum`).
        case meterImplausible = "meter_implausible"
    }

    /// The energy billed: what the meter measured; nil when the meter itself is implausible (nothing is billed).
    public var energy: Energy? {
        guard meteredWh >= 0 else { return nil }
        return Energy(kWh: Decimal(meteredWh) / 1000)
    }

    /// The flags on this session's figures, checked when chargepile hears of its end (`receivedStop`, station time).
    public func flags(receivedStop now: Instant) -> [Flag] {
        guard let energy else { return [.meterImplausible] }
        var flags: [Flag] = []
        if chargerStart > now + Self.clockToleranceMs { flags.append(.startInFuture) }
        if chargerStop > now + Self.clockToleranceMs { flags.append(.stopInFuture) }
        if let provisionedAt, chargerStart < provisionedAt { flags.append(.startBeforeProvisioning) }
        if chargerStop < chargerStart {
            flags.append(.stopBeforeStart)
        } else if !MeterPlausibility.allows(energy, powerWatts: powerWatts, during: chargerStop - chargerStart) {
            flags.append(.energyBeyondPower)
        }
        return flags
    }

    /// The period the bill covers: the charger's own when its figures are plausible; otherwise the session
    /// is taken to have ended when chargepile received the StopTransaction, after as long as the pile needs
    /// for the metered energy at full power. Nil when nothing can be billed (`meterImplausible`).
    public func billedPeriod(receivedStop now: Instant) -> (start: Instant, end: Instant, flags: [Flag])? {
        guard let energy else { return nil }
        let flags = flags(receivedStop: now)
        guard !flags.isEmpty else { return (chargerStart, chargerStop, []) }
        return (now - energy.chargingTime(atPowerWatts: max(1, powerWatts)), now, flags)
    }
}

extension Station {
    /// A request id for a session the engine does not schedule (a charger's offline session): from the
    /// engine's own counter, so no request it makes later shares it. Nothing else changes.
    public mutating func takeRequestID() -> Int64 {
        defer { nextRequestID += 1 }
        return nextRequestID
    }

    /// The power of a pile of this station, in W.
    public func powerWatts(ofPile pileID: Int) -> Int64? {
        settings.piles.first { $0.id == pileID }?.powerWatts
    }
}
