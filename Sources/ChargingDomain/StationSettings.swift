import Foundation

public struct StationSettings: Codable, Sendable, Equatable {
    public var piles: [PileSpec]
    /// M: cars a pile holds, the charging one included.
    public var queueLength: Int
    /// N: cars the waiting area holds (cars displaced by a fault are not counted).
    public var waitingCapacity: Int
    public var tariff: TariffSchedule
    public var serviceFeePerKWh: Decimal
    public var faultPolicy: FaultPolicy
    /// The station's grid connection: the most power all its cars may draw together; nil: no limit (every car
    /// charges at its pile's power).
    public var powerLimitWatts: Int64?
    /// How long a charger holds a pile for the car next in its queue beyond when that car is expected to reach
    /// it (an OCPP ReserveNow's expiry).
    public var reservationMinutes: Int = StationSettings.defaultReservationMinutes

    /// An AC car cannot charge below 6 A: on three phases at 230 V that is 4.14 kW.
    public static let defaultMinimumPowerWatts: Int64 = 4_140
    public static let defaultReservationMinutes = 15
    /// A day: a reservation longer than that holds a pile against every passer-by for nothing.
    public static let maximumReservationMinutes = 1_440

    public init(
        piles: [PileSpec], queueLength: Int, waitingCapacity: Int,
        tariff: TariffSchedule, serviceFeePerKWh: Decimal, faultPolicy: FaultPolicy, powerLimitWatts: Int64? = nil,
        reservationMinutes: Int = StationSettings.defaultReservationMinutes
    ) {
        self.reservationMinutes = reservationMinutes
        self.powerLimitWatts = powerLimitWatts
        self.piles = piles
        self.queueLength = queueLength
        self.waitingCapacity = waitingCapacity
        self.tariff = tariff
        self.serviceFeePerKWh = serviceFeePerKWh
        self.faultPolicy = faultPolicy
    }

    /// Piles 1–2 fast 30 kW, 3–5 slow 10 kW, M 3, N 10, the standard tariff, service fee 0.8, `priority`.
    public static let standard = StationSettings(
        piles: [
            PileSpec(id: 1, mode: .fast, powerWatts: 30_000),
            PileSpec(id: 2, mode: .fast, powerWatts: 30_000),
            PileSpec(id: 3, mode: .slow, powerWatts: 10_000),
            PileSpec(id: 4, mode: .slow, powerWatts: 10_000),
            PileSpec(id: 5, mode: .slow, powerWatts: 10_000),
        ],
        queueLength: 3,
        waitingCapacity: 10,
        tariff: .standard,
        serviceFeePerKWh: Decimal(string: "0.8")!,
        faultPolicy: .priority
    )
}
