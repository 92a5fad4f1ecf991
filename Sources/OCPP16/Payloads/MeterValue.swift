import Foundation

/// Sampled values taken at one point in time (MeterValues, StopTransaction's transactionData).
public struct MeterValue: Codable, Sendable, Equatable {
    public var timestamp: Date
    public var sampledValue: [SampledValue]

    public init(timestamp: Date, sampledValue: [SampledValue]) {
        self.timestamp = timestamp
        self.sampledValue = sampledValue
    }

    /// The meter's total imported active energy in Wh, from the first sampled value that carries it
    /// (see `SampledValue.energyActiveImportRegisterWh`); nil when none does.
    public var energyActiveImportRegisterWh: Decimal? {
        sampledValue.lazy.compactMap(\.energyActiveImportRegisterWh).first
    }
}

extension Sequence<MeterValue> {
    /// The register reading of the latest meter value that has one.
    public var latestEnergyActiveImportRegisterWh: Decimal? {
        self.compactMap { meterValue in
            meterValue.energyActiveImportRegisterWh.map { (meterValue.timestamp, $0) }
        }
        .max { $0.0 < $1.0 }?.1
    }
}
