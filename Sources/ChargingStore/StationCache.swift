import ChargingDomain
import Synchronization

/// The station each instance read or wrote last, by id, with the `state_version` it had then. A
/// station is used again only while the database still holds that version (the check is part of the
/// query that reads the clock), so the database stays the truth and a stale entry costs a full read.
final class StationCache: Sendable {
    private let entries = Mutex<[Int: (version: Int64, station: Station)]>([:])

    func station(_ stationID: Int) -> (version: Int64, station: Station)? {
        entries.withLock { $0[stationID] }
    }

    /// Keeps the newest version seen (another task may have kept a later one meanwhile).
    func keep(_ station: Station, version: Int64, stationID: Int) {
        entries.withLock { entries in
            if let kept = entries[stationID], kept.version >= version { return }
            entries[stationID] = (version, station)
        }
    }
}
