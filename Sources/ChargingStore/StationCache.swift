import ChargingDomain
import Synchronization

/// The stations each instance read or wrote last, by id, with the `state_version` each had then. A
/// station is used again only while the database still holds that version (the check is part of the
/// query that reads the clock), so the database stays the truth and a stale entry costs a full read.
///
/// Two versions per station are kept: a step keeps its station before it commits, so that the next
/// step waiting for the lock finds it; meanwhile a reader (a charger's Authorize, a view) still sees
/// the committed version before it, and must find that one too rather than decode the whole station.
final class StationCache: Sendable {
    static let versionsKept = 2
    private let entries = Mutex<[Int: [(version: Int64, station: Station)]]>([:])

    /// The versions kept, newest first.
    func stations(_ stationID: Int) -> [(version: Int64, station: Station)] {
        entries.withLock { $0[stationID] ?? [] }
    }

    /// Keeps the newest versions seen (another task may have kept later ones meanwhile).
    func keep(_ station: Station, version: Int64, stationID: Int) {
        entries.withLock { entries in
            var kept = entries[stationID] ?? []
            guard !kept.contains(where: { $0.version == version }) else { return }
            kept.append((version, station))
            kept.sort { $0.version > $1.version }
            entries[stationID] = Array(kept.prefix(Self.versionsKept))
        }
    }
}
