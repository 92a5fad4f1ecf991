import ChargingStore
import Logging
import ServiceLifecycle

/// Drives station time: completions fall due without any request arriving. Every
/// instance ticks; the station lock makes that safe, and any survivor carries on.
struct StationTicker: Service {
    let stations: StationService
    let store: StationStore
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                for stationID in try await store.stationIDs() where try await stations.needsCatchUp(stationID: stationID) {
                    try await stations.catchUp(stationID: stationID)
                }
            } catch {
                logger.debug("station tick failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}
