import ChargingDomain
import ChargingStore
import Foundation

/// Operators' reservations of a pile for a driver over a window (station time): the engine's window and its
/// `pile_reservations` row, written in one transaction. Refusals are `APIError`s with the API's message.
extension StationService {
    /// The longest window accepted: a pile kept longer is better taken out of the station.
    public static let maximumReservationWindow: TimeInterval = 31 * 24 * 3_600

    /// Keeps `pileID` for `driver` from `from` until `to`; returns the reservation's id.
    public func reserve(pileID: Int, driver: String, from: Date, to: Date) async throws -> Int64 {
        guard to > from else { throw APIError(StationError.invalidReservation.message) }
        guard to.timeIntervalSince(from) <= Self.maximumReservationWindow else { throw APIError("预约时长不能超过31天") }
        guard let stationID = try await stationID(ofPile: pileID) else { throw APIError(StationError.unknownPile.message) }
        return try await Self.refusalsAsAPIErrors {
            try await atStation(ofPile: pileID) { station, clock, connection in
                guard try await ReservationStore.driverExists(driver, on: connection) else { throw APIError("用户不存在") }
                let id = try await ReservationStore.insertWindow(stationID: stationID, pileID: pileID, driver: driver, startsAt: from,
                                                                 endsAt: to, on: connection)
                let reservation = PileReservation(id: id, pileID: pileID, driver: driver, from: from.instant, until: to.instant)
                return (try station.apply(.reserve(reservation), at: clock.now.instant), id)
            }
        }
    }

    /// Ends a reservation now; the cars it held back may be placed at once. Returns its pile.
    @discardableResult
    public func cancelReservation(id: Int64) async throws -> Int {
        let reservations = store.reservations
        guard let pileID = try await reservations.pileOfWindow(id: id) else { throw APIError(StationError.unknownReservation.message) }
        try await Self.refusalsAsAPIErrors {
            try await atStation(ofPile: pileID) { station, clock, connection in
                guard try await ReservationStore.cancelWindow(id: id, on: connection) else { throw StationError.unknownReservation }
                return (try station.apply(.cancelReservation(id: id), at: clock.now.instant), ())
            }
        }
        return pileID
    }

    /// How long an OCPP charger keeps a pile for the car next in its queue beyond its expected arrival.
    public func setReservationMinutes(_ minutes: Int, stationID: Int) async throws {
        _ = try await apply(.setReservationMinutes(minutes), stationID: stationID)
    }

    private static func refusalsAsAPIErrors<Result>(_ step: () async throws -> Result) async throws -> Result {
        do {
            return try await step()
        } catch let error as StationError {
            throw APIError(error.message)
        }
    }
}
