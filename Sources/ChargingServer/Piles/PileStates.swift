import ChargingDomain
import ChargingStore
import PileRouting

/// Every change of a pile's state (its socket's claim and release, its status from either protocol,
/// an admin's command, a dead instance's piles) goes through here: the write in `PileStateStore`, the
/// state's one home in the database, and then, when the write says so, the station's engine hearing
/// of it. No caller has to remember to tell the engine.
struct PileStates: Sendable {
    let store: PileStateStore
    let stations: StationService

    /// Takes the pile for a new socket here (nil: no such pile); an older socket elsewhere is told to close.
    func claim(pileID: Int, protocol: PileProtocolName) async throws -> PileStateStore.Claim? {
        let claim = try await store.claim(pileID: pileID, protocol: `protocol`.rawValue)
        await hear(claim?.change)
        return claim
    }

    /// The socket closed: the pile goes offline unless a newer connection owns it (false then).
    @discardableResult
    func release(pileID: Int, epoch: Int64) async throws -> Bool {
        let change = try await store.release(pileID: pileID, epoch: epoch)
        await hear(change)
        return change != nil
    }

    /// The pile's own status report (our `status` frame); false when a newer socket holds the pile.
    func recordStatus(pileID: Int, epoch: Int64, status: PileStatus) async throws -> Bool {
        let change = try await store.recordStatus(pileID: pileID, epoch: epoch, status: status)
        await hear(change)
        return change != nil
    }

    /// An OCPP StatusNotification (`PileStateStore.recordConnector`); false when a newer socket holds the pile.
    func recordConnector(pileID: Int, epoch: Int64, connectorStatus: String, errorCode: String, info: String?,
                         status: PileStatus) async throws -> Bool {
        let change = try await store.recordConnector(pileID: pileID, epoch: epoch, connectorStatus: connectorStatus,
                                                     errorCode: errorCode, info: info, status: status)
        await hear(change)
        return change != nil
    }

    /// The station's engine takes the change in now when it can move a car; otherwise its next step will.
    func hear(_ change: PileStateChange?) async {
        guard let change, change.engineMustHear else { return }
        await stations.pileStatusChanged(stationID: change.stationID)
    }
}
