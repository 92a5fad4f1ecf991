/// The first element of every OCPP-J frame.
public enum OCPPMessageType: Int, Sendable, Hashable, CaseIterable {
    case call = 2
    case callResult = 3
    case callError = 4

    /// Elements in a frame of this type.
    var arity: Int {
        switch self {
        case .call: 4
        case .callResult: 3
        case .callError: 5
        }
    }
}
