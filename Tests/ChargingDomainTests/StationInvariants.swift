import ChargingDomain
import Foundation
import Testing

/// What must hold after every step, whatever happened.
func expectInvariants(_ station: Station, sourceLocation: SourceLocation = #_sourceLocation) {
    let settings = station.settings
    var seen: [String] = []
    for pileID in station.pileIDs {
        let queue = station.pileQueue(pileID)!
        #expect(queue.count <= settings.queueLength, "pile \(pileID) holds \(queue.count) cars", sourceLocation: sourceLocation)
        if station.pileStatus(pileID) == .on {
            #expect(queue.first.map { $0.state == .charging } ?? true, "pile \(pileID)'s first car is not charging", sourceLocation: sourceLocation)
            #expect(queue.dropFirst().allSatisfy { $0.state == .queued }, sourceLocation: sourceLocation)
        } else {
            #expect(queue.isEmpty, "non-working pile \(pileID) holds cars", sourceLocation: sourceLocation)
        }
        seen += queue.map(\.driver)
    }
    let waiting = station.waitingArea()
    #expect(waiting.filter { $0.state == .waiting }.count <= settings.waitingCapacity, sourceLocation: sourceLocation)
    seen += waiting.map(\.driver)
    #expect(Set(seen).count == seen.count, "a car is in two places: \(seen)", sourceLocation: sourceLocation)
    if let next = station.nextEventTime {
        #expect(next > station.now, "a completion is overdue", sourceLocation: sourceLocation)
    }
}

/// Each bill's fees equal the independent reference calculation (constant power, no meter readings).
func expectFeesMatchReference(_ bill: Bill, powerWatts: Int64, sourceLocation: SourceLocation = #_sourceLocation) {
    let (charging, service, total) = ReferenceTariff().fees(
        powerWatts: powerWatts, start: bill.startedAt, end: bill.finishedAt, energyWms: bill.energy.wattMilliseconds)
    #expect(bill.chargingFee == charging, "bill \(bill.id) charging fee", sourceLocation: sourceLocation)
    #expect(bill.serviceFee == service, "bill \(bill.id) service fee", sourceLocation: sourceLocation)
    #expect(bill.totalFee == total, "bill \(bill.id) total fee", sourceLocation: sourceLocation)
    #expect(bill.durationMs == bill.finishedAt - bill.startedAt, sourceLocation: sourceLocation)
}
