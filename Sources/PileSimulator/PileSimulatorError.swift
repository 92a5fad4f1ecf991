/// Why a simulated pile or fleet could not do what it was asked.
public enum PileSimulatorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `/p/login` answered `code -1`; carries the server's `msg`.
    case loginRefused(String)
    /// `/p/login` answered `code -1` with `retry_after`: the instance admits no more piles this moment.
    case loginRetry(afterSeconds: Int)
    /// `/p/login` answered something that is not the contract's JSON.
    case unexpectedLoginResponse(status: Int, body: String)
    case invalidBaseURL(String)
    /// `send…` was called while no WebSocket is open.
    case notConnected
    /// `run()` was called a second time; a `SimulatedPile` is one connection.
    case alreadyRun
    /// A non-finite meter reading, which JSON cannot carry.
    case invalidEnergy(Double)

    public var description: String {
        switch self {
        case .loginRefused(let msg): "pile login refused: \(msg)"
        case .loginRetry(let seconds): "pile login deferred: retry after \(seconds) s"
        case .unexpectedLoginResponse(let status, let body): "unexpected pile login response (HTTP \(status)): \(body.prefix(200))"
        case .invalidBaseURL(let url): "invalid base URL: \(url)"
        case .notConnected: "the pile has no open WebSocket"
        case .alreadyRun: "a SimulatedPile runs once; create a new one to reconnect"
        case .invalidEnergy(let value): "meter energy must be finite, got \(value)"
        }
    }
}
