/// Who a simulated pile is and where it connects.
public struct PileSimulatorConfiguration: Sendable {
    /// The server's HTTP base, e.g. `http://127.0.0.1:8080`; the WebSocket URL is derived from it.
    public var baseURL: String
    public var pileID: Int
    public var password: String
    /// Answer every `set_status` and `set_power` with an `ack` frame.
    public var autoAck: Bool

    public init(baseURL: String = "http://127.0.0.1:8080", pileID: Int, password: String, autoAck: Bool = true) {
        self.baseURL = baseURL
        self.pileID = pileID
        self.password = password
        self.autoAck = autoAck
    }
}
