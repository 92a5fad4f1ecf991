import Foundation

public enum StationCommand: Sendable, Equatable {
    case submit(driver: String, mode: ChargingMode, requestedKWh: Decimal, batteryCapacityKWh: Decimal)
    /// Either or both; only in the waiting area.
    case modify(driver: String, mode: ChargingMode?, requestedKWh: Decimal?)
    case cancel(driver: String)
    /// `on` = working or recovery; `off`/`repair`/`offline` = fault when the pile was on; the same status again = no-op.
    /// Send `offline` once the pile has been offline past the grace period.
    case setPileStatus(pileID: Int, status: PileStatus)
    /// The pile lost its connection at `since` and is now past the grace period: the same fault as
    /// `setPileStatus(offline)`, but the car charging there is billed only up to `since` (never before its
    /// last meter reading, never after now), not through the grace period.
    case pileOffline(pileID: Int, since: Instant)
    /// The energy the car received in its current session so far; overrides the model. The energy since the
    /// previous reading is spread evenly over that time for the tariff; a reading below the previous one is
    /// refused (`invalidMeterReading`), and so is one above what the pile's power allows since the session
    /// started (`implausibleMeterReading`, see `MeterPlausibility`); one at or above what the session should
    /// deliver completes it (billing what was asked for). `readAt`: when the pile took the reading, if that was
    /// before the engine's now (a reading stored and taken in later); it never goes before the last checkpoint.
    case meter(pileID: Int, requestID: Int64, energyKWh: Decimal, readAt: Instant? = nil)
    /// A car that plugged in at the pile itself (an OCPP charger's card session): taken only when the pile
    /// works and has nobody charging or waiting there; it gets the next number of the pile's mode and
    /// charges at once, for `requestedKWh` (its battery, when the driver asked for no amount).
    case plugIn(driver: String, pileID: Int, requestedKWh: Decimal, batteryCapacityKWh: Decimal)
    /// The station's grid connection (nil: no limit). The cars' shares follow at once.
    case setPowerLimit(watts: Int64?)
    /// The least power a car can charge at on this pile (nil: the station's default).
    case setMinimumPower(pileID: Int, watts: Int64?)
    /// The charger confirmed it keeps its cars at or below `watts`, the limit numbered `sequence` (a `set_power` ack,
    /// an accepted charging profile).
    case powerLimitAcknowledged(pileID: Int, watts: Int64, sequence: Int64)
    /// The charger has taken the stop of its car (or stopped it itself): under a limit, what that car drew is free.
    case chargingStopped(pileID: Int)
    /// The charger rejected a power limit, doesn't support one, or never answered: it counts at its full power.
    case powerLimitRefused(pileID: Int)
    /// How long a charger keeps a pile for the car next in its queue beyond its expected arrival (`StationSettings`).
    case setReservationMinutes(Int)
    /// An operator keeps a pile for a driver over a window (`PileReservation`); it must end after now.
    case reserve(PileReservation)
    /// The operator's reservation ends early; cars it held back may be placed at once.
    case cancelReservation(id: Int64)
    /// The charger booted again (an OCPP BootNotification) and may have lost the limit it acknowledged: under a
    /// limit it counts at its full power again, is given another chance if it refused, and is sent its share anew.
    case chargerRestarted(pileID: Int)
}
