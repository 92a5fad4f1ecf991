import ChargingDomain

/// The pile WebSockets this instance holds, as routing needs them. The server's hub
/// implements it; routing never sees a socket type.
public protocol PileSockets: Sendable {
    /// Writes a text frame to the pile's socket if this instance holds it (at `epoch`,
    /// when given). False when there is no such socket or the write failed.
    func write(_ text: String, toPile pileID: Int, epoch: Int64?) async -> Bool
    /// Closes the pile's socket if this instance holds it at an epoch older than `epoch`.
    func closeReplaced(pileID: Int, newerEpoch: Int64) async
    /// Closes the pile's socket after an `offline` command was written to it.
    func closeOffline(pileID: Int, epoch: Int64) async
}
