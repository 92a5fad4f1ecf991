import PileProtocol

extension PileSimulatorEvent {
    /// One server → pile text frame; anything that is not a frame of the protocol becomes `.other(text)`.
    init(frameText text: String) {
        switch ServerFrame(text: text) {
        case .welcome(_, let status): self = .welcome(status: status)
        case .setStatus(let status, let commandID): self = .setStatus(status: status, commandID: commandID)
        case .startCharging(let requestID, let userID, let queueNumber, let requestQuantity):
            self = .startCharging(requestID: requestID, userID: userID, queueNumber: queueNumber, requestedKWh: requestQuantity)
        case .stopCharging(let requestID, let reason): self = .stopCharging(requestID: requestID, reason: reason)
        case .setPower(let powerKW, let commandID): self = .setPower(powerKW: powerKW, commandID: commandID)
        case .error(let message): self = .error(message)
        case nil: self = .other(text)
        }
    }
}
