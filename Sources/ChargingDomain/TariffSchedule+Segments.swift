import Foundation

/// A stretch of time with one price.
struct RateSegment: Equatable {
    var start: Instant
    var end: Instant
    var price: EnergyPrice

    var duration: Int64 { end - start }
}

extension TariffSchedule {
    /// Splits `start ..< end` at every local-hour boundary (and DST transition) where the price changes.
    func rateSegments(from start: Instant, to end: Instant) -> [RateSegment] {
        guard start < end else { return [] }
        let zone = timeZone ?? TimeZone(secondsFromGMT: 0)!
        let prices = hourlyPrices
        var segments: [RateSegment] = []
        var cursor = start
        while cursor < end {
            let date = Date(timeIntervalSince1970: Double(cursor) / 1_000)
            let offset = Int64(zone.secondsFromGMT(for: date)) * Milliseconds.perSecond
            let localHourIndex = floorDivide(cursor + offset, Milliseconds.perHour)
            let hour = Int(localHourIndex - floorDivide(localHourIndex, 24) * 24)
            var next = (localHourIndex + 1) * Milliseconds.perHour - offset
            if let transition = zone.nextDaylightSavingTimeTransition(after: date) {
                let transitionInstant = Instant((transition.timeIntervalSince1970 * 1_000).rounded())
                if transitionInstant > cursor { next = min(next, transitionInstant) }
            }
            next = min(next, end)
            let price = prices[hour]
            if let last = segments.last, last.price == price {
                segments[segments.count - 1].end = next
            } else {
                segments.append(RateSegment(start: cursor, end: next, price: price))
            }
            cursor = next
        }
        return segments
    }

    /// The charging fee of energy delivered at a constant `powerWatts` from `start`, stopping at `energy`.
    func chargingFee(powerWatts: Int64, from start: Instant, to end: Instant, cappedAt energy: Energy) -> ExactFee {
        var fee = ExactFee.zero
        var left = energy
        for segment in rateSegments(from: start, to: end) where left > .zero {
            let inSegment = min(left, Energy.delivered(atPowerWatts: powerWatts, during: segment.duration))
            fee += ExactFee(energy: inSegment, price: segment.price)
            left = left - inSegment
        }
        return fee
    }

    /// The charging fee of `energy` spread evenly over `start ..< end` (used for a meter reading's increment).
    /// Each segment gets its proportional share rounded down to a W·ms; the last one takes the remainder.
    func chargingFee(spreading energy: Energy, from start: Instant, to end: Instant) -> ExactFee {
        let segments = rateSegments(from: start, to: end)
        guard let lastSegment = segments.last else {
            return ExactFee(energy: energy, price: priceAt(start))
        }
        let total = end - start
        var fee = ExactFee.zero
        var left = energy
        for segment in segments.dropLast() {
            let (share, _) = total.dividingFullWidth(energy.wattMilliseconds.multipliedFullWidth(by: segment.duration))
            let inSegment = Energy(wattMilliseconds: share)
            fee += ExactFee(energy: inSegment, price: segment.price)
            left = left - inSegment
        }
        return fee + ExactFee(energy: left, price: lastSegment.price)
    }

    func priceAt(_ instant: Instant) -> EnergyPrice {
        rateSegments(from: instant, to: instant + 1).first?.price ?? EnergyPrice(tenThousandthsOfYuan: 0)
    }
}
