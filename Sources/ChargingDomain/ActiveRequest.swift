import Foundation

/// An accepted request still at the station, as the `charging_requests` table mirrors it.
public struct ActiveRequest: Sendable, Equatable {
    public enum State: String, Sendable { case waiting, displaced, queued, charging }

    public var requestID: Int64
    public var driver: String
    public var mode: ChargingMode
    public var queueNumber: String
    public var requestedKWh: Decimal
    public var batteryCapacityKWh: Decimal
    public var state: State
    public var pileID: Int?
    /// 1 for the car charging, then the cars queued behind it.
    public var queuePosition: Int?
    public var submittedAt: Instant
    public var firstChargedAt: Instant?
}

extension Station {
    /// Every request at the station, in id order.
    public var activeRequests: [ActiveRequest] {
        requests.map { request in
            var active = ActiveRequest(
                requestID: request.id, driver: request.driver, mode: request.mode, queueNumber: request.queueNumber,
                requestedKWh: request.requested.kWh(decimals: 6), batteryCapacityKWh: request.batteryCapacity.kWh(decimals: 6),
                state: displaced.contains(request.id) ? .displaced : .waiting, pileID: nil, queuePosition: nil,
                submittedAt: request.submittedAt, firstChargedAt: request.firstChargedAt)
            if let pile = piles.first(where: { $0.queue.contains(request.id) }), let index = pile.queue.firstIndex(of: request.id) {
                active.pileID = pile.id
                active.queuePosition = index + 1
                active.state = pile.session?.requestID == request.id ? .charging : .queued
            }
            return active
        }
    }
}
