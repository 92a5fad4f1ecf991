import ChargingDomain
import ChargingStore
import Foundation
import PostgresClient

/// Many stations behind one API: the optional `station` parameter of the admin's and the driver's
/// endpoints, and which station a driver's request is at.
extension StationService {
    var directory: StationDirectory { store.directory }

    /// `StationDirectory.scope`: nil when the request named no station, else the station if it exists.
    func scope(_ stationID: Int?) async throws -> Int? {
        try await directory.scope(stationID)
    }

    /// Whether the pile exists and, when a station was named, belongs to it.
    func pile(_ pileID: Int, isIn stationID: Int?) async throws -> Bool {
        guard let pileStation = try await self.stationID(ofPile: pileID) else { return false }
        return stationID.map { $0 == pileStation } ?? true
    }

    /// The pile's queue, nil for an unknown pile or one of another station than `stationID`.
    func pileQueue(pileID: Int, inStation stationID: Int?) async throws -> [QueueEntry]? {
        guard try await pile(pileID, isIn: stationID) else { return nil }
        return try await pileQueue(pileID: pileID)
    }

    /// A driver's request goes to the named station (default: station 1); the driver must have no active
    /// request at any station (the engine of one station sees only its own).
    func submit(driver: Driver, stationID: Int?, mode: ChargingMode, requestedKWh: Decimal, batteryCapacityKWh: Decimal) async throws
        -> (effects: [StationEffect], stationID: Int) {
        let target = try await scope(stationID) ?? defaultStationID
        if let current = driver.activeStationID, current != target {
            throw APIError(StationError.alreadyHasActiveRequest.message)
        }
        let command = StationCommand.submit(driver: driver.username, mode: mode, requestedKWh: requestedKWh,
                                            batteryCapacityKWh: batteryCapacityKWh)
        do {
            return (try await apply(command, stationID: target), target)
        } catch let error as PostgresError where error.code == .uniqueViolation {
            // Submitted at another station meanwhile: the unique index on active requests refused this one.
            throw APIError(StationError.alreadyHasActiveRequest.message)
        }
    }
}

extension StationDirectory {
    static let unknownStation = APIError("充电站不存在")

    /// The station an endpoint was asked about: nil when the request named none (the endpoint's answer of
    /// before, every station or the default one); an unknown station is refused.
    func scope(_ stationID: Int?) async throws -> Int? {
        guard let stationID else { return nil }
        guard try await exists(stationID) else { throw Self.unknownStation }
        return stationID
    }
}
