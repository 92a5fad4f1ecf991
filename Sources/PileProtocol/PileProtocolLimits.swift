/// The limits and close codes of chargepile's own pile protocol, shared by the server and its clients.
public enum PileProtocolLimits {
    /// The largest message, fragments joined; a larger one closes the socket with 1009.
    public static let maxMessageSize = 64 * 1024
    /// Frames a pile may have waiting to be applied; one that floods beyond this is closed with 1008.
    public static let maxPendingFrames = 64
    /// A newer connection for the same pile took over (on any instance).
    public static let replacedCloseCode: UInt16 = 4000
    /// The path of the pile WebSocket (after `POST /p/login`).
    public static let socketPath = "/p/ws"
}
