import Foundation

/// What instances tell each other over their NOTIFY channels. The payload only rings
/// the doorbell; the rows in Postgres stay the truth.
public enum RoutingMessage: Sendable, Equatable {
    /// To a pile's owner: a pending command row for that pile awaits.
    case command(id: Int64, pileID: Int)
    /// To the requesting instance: that command row has its outcome (carried along, so that a
    /// requester who needs no answer text doesn't read the row again; nil from an older instance).
    case result(id: Int64, outcome: CommandOutcome?)
    /// To a pile's previous owner: a newer connection (this epoch) took the pile.
    case replaced(pileID: Int, epoch: Int64)

    public var payload: String {
        switch self {
        case .command(let id, let pileID): "command:\(id):\(pileID)"
        case .result(let id, let outcome?): "result:\(id):\(outcome.rawValue)"
        case .result(let id, nil): "result:\(id)"
        case .replaced(let pileID, let epoch): "replaced:\(pileID):\(epoch)"
        }
    }

    public init?(payload: String) {
        let parts = payload.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        switch (parts.first, parts.count) {
        case ("command", 3):
            guard let id = Int64(parts[1]), let pile = Int(parts[2]) else { return nil }
            self = .command(id: id, pileID: pile)
        case ("result", 2): guard let id = Int64(parts[1]) else { return nil }; self = .result(id: id, outcome: nil)
        case ("result", 3):
            guard let id = Int64(parts[1]), let outcome = CommandOutcome(rawValue: String(parts[2])) else { return nil }
            self = .result(id: id, outcome: outcome)
        case ("replaced", 3):
            guard let pile = Int(parts[1]), let epoch = Int64(parts[2]) else { return nil }
            self = .replaced(pileID: pile, epoch: epoch)
        default: return nil
        }
    }
}

/// The NOTIFY channel of one instance.
public func instanceChannel(_ instance: UUID) -> String {
    "chargepile_" + instance.uuidString.lowercased().replacingOccurrences(of: "-", with: "")
}
