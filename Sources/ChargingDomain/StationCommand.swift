import Foundation

public enum StationCommand: Sendable, Equatable {
    case submit(driver: String, mode: ChargingMode, requestedKWh: Decimal, batteryCapacityKWh: Decimal)
    /// Either or both; only in the waiting area.
    case modify(driver: String, mode: ChargingMode?, requestedKWh: Decimal?)
    case cancel(driver: String)
    /// `on` = working or recovery; `off`/`repair`/`offline` = fault when the pile was on; the same status again = no-op.
    case setPileStatus(pileID: Int, status: PileStatus)
    /// The energy the car received in its current session so far; overrides the model.
    case meter(pileID: Int, requestID: Int64, energyKWh: Decimal)
}
