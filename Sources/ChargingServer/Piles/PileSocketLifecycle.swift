
/// What every pile socket does when it opens and closes, whatever its protocol: the newest
/// socket of a pile owns it (a new epoch, status `off`), and a pile whose socket closes goes
/// offline unless a newer one took over.
struct PileSocketLifecycle: Sendable {
    let pileStates: PileStates
    let hub: PileHub

    /// Claims the pile for this socket; false (and the socket closed) when it can't be.
    func open(_ connection: PileConnection, protocol: PileProtocolName) async -> Bool {
        let pileID = connection.pileID
        do {
            guard let claim = try await pileStates.claim(pileID: pileID, protocol: `protocol`) else {
                await connection.close(.policyViolation, reason: "unknown pile")
                return false
            }
            connection.claimed(epoch: claim.epoch)
            await hub.attach(connection, epoch: claim.epoch)
            connection.logger.info("pile connected", metadata: ["epoch": "\(claim.epoch)", "protocol": "\(`protocol`.rawValue)"])
            return true
        } catch {
            connection.logger.warning("pile could not be claimed", metadata: ["error": "\(error)"])
            await connection.close(.unexpectedServerError, reason: "service unavailable")
            return false
        }
    }

    func close(_ connection: PileConnection) async {
        guard let epoch = connection.epoch else { return }
        await hub.detach(pileID: connection.pileID, epoch: epoch)
        _ = try? await pileStates.release(pileID: connection.pileID, epoch: epoch)
        connection.logger.info("pile disconnected", metadata: ["epoch": "\(epoch)"])
    }
}

/// The protocols a pile may speak, as `piles.protocol` records the current one.
enum PileProtocolName: String, Sendable {
    case chargepile
    case ocpp16 = "ocpp1.6"
}
