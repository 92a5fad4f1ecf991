/// What a simulated pile received, one event per frame, in order.
public enum PileSimulatorEvent: Sendable, Equatable {
    case welcome(status: String)
    case setStatus(status: String, commandID: Int64)
    case startCharging(requestID: Int64, userID: String, queueNumber: String, requestedKWh: Double)
    case stopCharging(requestID: Int64, reason: String)
    /// The station's power limit for this pile's car.
    case setPower(powerKW: Double, commandID: Int64)
    case error(String)
    /// The socket closed. `code`/`reason` come from the server's close frame; both are nil when none arrived.
    case closed(code: Int?, reason: String?)
    /// A frame that is not one of the above (unknown type, missing fields, not JSON, binary): its text.
    case other(String)
}
