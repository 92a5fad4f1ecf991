import Foundation

extension StationSettings {
    /// The fees of `energyKWh` received evenly over `start ..< end` (Instants in ms), rounded as a bill
    /// rounds them: what a bill becomes when a charger's final meter reading replaces the energy it was
    /// written with. Nil for an amount that is not an energy.
    public func billFees(energyKWh: Decimal, from start: Instant, to end: Instant) -> (chargingFee: Decimal, serviceFee: Decimal)? {
        guard let energy = Energy(kWh: energyKWh), let servicePrice = EnergyPrice(yuanPerKWh: serviceFeePerKWh) else { return nil }
        let chargingFee = tariff.chargingFee(spreading: energy, from: start, to: max(start, end))
        return (chargingFee.roundedYuan, ExactFee(energy: energy, price: servicePrice).roundedYuan)
    }
}
