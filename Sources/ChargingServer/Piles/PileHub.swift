import NIOWebSocket
import PileProtocol
import PileRouting

/// The pile sockets this instance holds, by pile id; at most one per pile.
actor PileHub: PileSockets {
    private struct Held {
        var epoch: Int64
        var connection: PileConnection
    }

    private var held: [Int: Held] = [:]

    /// The epoch of each pile socket held here, by pile id.
    var heldEpochs: [Int: Int64] { held.mapValues(\.epoch) }

    /// Registers a new socket; an older one for the same pile on this instance is replaced. Two sockets
    /// of one pile claimed moments apart may attach in either order: the one with the older epoch
    /// loses, whichever comes second (else the newer socket would be dropped from the hub while its
    /// pile stays connected to it, unreachable for commands).
    func attach(_ connection: PileConnection, epoch: Int64) async {
        if let current = held[connection.pileID], current.epoch > epoch {
            await connection.close(.replaced, reason: "replaced")
            return
        }
        let older = held[connection.pileID]
        held[connection.pileID] = Held(epoch: epoch, connection: connection)
        ServerMetrics.setConnectedPiles(held.count)
        if let older, older.epoch < epoch { await older.connection.close(.replaced, reason: "replaced") }
    }

    func detach(pileID: Int, epoch: Int64) {
        if held[pileID]?.epoch == epoch { held[pileID] = nil }
        ServerMetrics.setConnectedPiles(held.count)
    }

    func deliver(_ instruction: PileInstruction, as command: CommandTicket, toPile pileID: Int, epoch: Int64) async -> DeliveryOutcome {
        guard let socket = held[pileID], socket.epoch == epoch else { return .failed("no socket for this pile here") }
        return await socket.connection.deliver(instruction, as: command)
    }

    func closeReplaced(pileID: Int, newerEpoch: Int64) async {
        guard let socket = held[pileID], socket.epoch < newerEpoch else { return }
        held[pileID] = nil
        await socket.connection.close(.replaced, reason: "replaced")
    }

    func closeOffline(pileID: Int, epoch: Int64) async {
        guard let socket = held[pileID], socket.epoch == epoch else { return }
        await socket.connection.close(.normalClosure, reason: "offline")
    }

    /// Graceful stop: every pile is told the server is going away (1001).
    func closeAll() async {
        for socket in held.values { await socket.connection.close(.goingAway, reason: "server stopping") }
    }
}

extension WebSocketErrorCode {
    /// A newer connection for the same pile took over (API.md).
    static let replaced = WebSocketErrorCode(codeNumber: Int(PileProtocolLimits.replacedCloseCode))
}
