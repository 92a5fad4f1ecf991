import Logging
import ServiceLifecycle

/// Drives station time: completions fall due without any request arriving, and at stations with cars,
/// pile statuses the engine hasn't taken in yet are taken in (a catch-up that failed is retried here).
/// Every instance ticks; the station lock makes that safe, and any survivor carries on.
struct StationTicker: Service {
    let stations: StationService
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                for stationID in try await stations.stationsBehind() {
                    do {
                        try await stations.catchUp(stationID: stationID)
                    } catch {
                        logger.debug("station tick failed", metadata: ["station": "\(stationID)", "error": "\(error)"])
                    }
                }
            } catch {
                logger.debug("station tick failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}
