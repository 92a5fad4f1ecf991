import HummingbirdWebSocket
import NIOWebSocket
import PileRouting

/// The pile sockets this instance holds, by pile id; at most one per pile.
actor PileHub: PileSockets {
    private struct Connection {
        var epoch: Int64
        var outbound: WebSocketOutboundWriter
    }

    private var connections: [Int: Connection] = [:]
    private let writeTimeout: Duration

    init(writeTimeout: Duration) { self.writeTimeout = writeTimeout }

    var connectedPiles: [Int] { connections.keys.sorted() }

    /// Registers a new socket; an older one for the same pile on this instance is replaced.
    func attach(pileID: Int, epoch: Int64, outbound: WebSocketOutboundWriter) async {
        let older = connections[pileID]
        connections[pileID] = Connection(epoch: epoch, outbound: outbound)
        ServerMetrics.setConnectedPiles(connections.count)
        if let older, older.epoch < epoch { try? await older.outbound.close(.replaced, reason: "replaced") }
    }

    func detach(pileID: Int, epoch: Int64) {
        if connections[pileID]?.epoch == epoch { connections[pileID] = nil }
        ServerMetrics.setConnectedPiles(connections.count)
    }

    func write(_ text: String, toPile pileID: Int, epoch: Int64?) async -> Bool {
        guard let connection = connections[pileID], epoch == nil || connection.epoch == epoch else { return false }
        let timeout = writeTimeout
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await connection.outbound.write(.text(text))) != nil }
            group.addTask { try? await Task.sleep(for: timeout); return false }
            let written = await group.next() ?? false
            group.cancelAll()
            return written
        }
    }

    func closeReplaced(pileID: Int, newerEpoch: Int64) async {
        guard let connection = connections[pileID], connection.epoch < newerEpoch else { return }
        connections[pileID] = nil
        try? await connection.outbound.close(.replaced, reason: "replaced")
    }

    func closeOffline(pileID: Int, epoch: Int64) async {
        guard let connection = connections[pileID], connection.epoch == epoch else { return }
        try? await connection.outbound.close(.normalClosure, reason: "offline")
    }

    /// Graceful stop: every pile is told the server is going away (1001).
    func closeAll() async {
        for connection in connections.values { try? await connection.outbound.close(.goingAway, reason: "server stopping") }
    }
}

extension WebSocketErrorCode {
    /// A newer connection for the same pile took over (API.md).
    static let replaced = WebSocketErrorCode(codeNumber: 4000)
}
