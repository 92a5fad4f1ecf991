/// Which way a frame travelled, seen from the pile.
public enum PileFrameDirection: Sendable, Equatable {
    /// Server → pile.
    case received
    /// Pile → server.
    case sent

    /// `<-` for received, `->` for sent, as `chargepile sim` prints them.
    public var arrow: String {
        switch self {
        case .received: "<-"
        case .sent: "->"
        }
    }
}
