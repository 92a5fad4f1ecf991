import Foundation

extension StationSettings {
    /// The largest pile power accepted (10 MW); with `Energy.maximum` it keeps every product inside Int64.
    public static let maximumPowerWatts: Int64 = 10_000_000
    /// The largest station power limit accepted (10 GW).
    public static let maximumPowerLimitWatts: Int64 = 10_000_000_000

    /// Throws `.invalidSettings` naming the first problem. `Station` assumes valid settings.
    public func validate() throws(StationError) {
        func require(_ condition: Bool, _ problem: String) throws(StationError) {
            if !condition { throw .invalidSettings(problem) }
        }
        try require(!piles.isEmpty, "没有充电桩")
        try require(Set(piles.map(\.id)).count == piles.count, "充电桩编号重复")
        for pile in piles {
            try require((1...StationSettings.maximumPowerWatts).contains(pile.powerWatts), "充电桩\(pile.id)功率无效")
            if let minimum = pile.minimumPowerWatts {
                try require((1...StationSettings.maximumPowerWatts).contains(minimum), "充电桩\(pile.id)最小功率无效")
            }
        }
        if let limit = powerLimitWatts {
            try require((1...StationSettings.maximumPowerLimitWatts).contains(limit), "站点功率上限无效")
        }
        try validateSiteRules()
    }

    /// Everything but the piles: a new station (`station add`) has none until `pile add --station` provisions them.
    public func validateSiteRules() throws(StationError) {
        func require(_ condition: Bool, _ problem: String) throws(StationError) {
            if !condition { throw .invalidSettings(problem) }
        }
        try require(queueLength >= 1, "充电桩队列长度必须至少为1")
        try require(waitingCapacity >= 0, "等候区容量不能为负")
        try require((1...StationSettings.maximumReservationMinutes).contains(reservationMinutes), "预约保留分钟数无效")
        try require(EnergyPrice(yuanPerKWh: serviceFeePerKWh) != nil, "服务费单价无效")
        try require(tariff.timeZone != nil, "时区无效")
        for hour in 0..<24 {
            let covering = tariff.periods.filter { $0.contains(localHour: hour) }
            try require(covering.count == 1, "电价时段必须恰好覆盖每个小时（\(hour)时）")
        }
        for period in tariff.periods {
            try require((0..<24).contains(period.startHour) && (0..<24).contains(period.endHour), "电价时段小时无效")
            try require(EnergyPrice(yuanPerKWh: period.pricePerKWh) != nil, "电价无效")
        }
    }
}
