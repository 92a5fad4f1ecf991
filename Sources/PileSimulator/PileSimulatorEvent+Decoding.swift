import Foundation

extension PileSimulatorEvent {
    /// Decodes one server → pile text frame; anything unexpected becomes `.other(text)`.
    init(frameText text: String) {
        guard let frame = try? JSONDecoder().decode(ServerFrame.self, from: Data(text.utf8)) else {
            self = .other(text)
            return
        }
        switch frame.type {
        case "welcome":
            if let status = frame.status {
                self = .welcome(status: status)
                return
            }
        case "set_status":
            if let status = frame.status, let commandID = frame.commandID {
                self = .setStatus(status: status, commandID: commandID)
                return
            }
        case "start_charging":
            if let requestID = frame.requestID, let userID = frame.userID, let queueNumber = frame.queueNumber,
                let quantity = frame.requestQuantity
            {
                self = .startCharging(requestID: requestID, userID: userID, queueNumber: queueNumber, requestedKWh: quantity)
                return
            }
        case "stop_charging":
            if let requestID = frame.requestID, let reason = frame.reason {
                self = .stopCharging(requestID: requestID, reason: reason)
                return
            }
        case "error":
            if let msg = frame.msg {
                self = .error(msg)
                return
            }
        default:
            break
        }
        self = .other(text)
    }
}

/// Every field a server → pile frame may carry; which ones are required depends on `type`.
private struct ServerFrame: Decodable {
    var type: String
    var status: String?
    var commandID: Int64?
    var requestID: Int64?
    var userID: String?
    var queueNumber: String?
    var requestQuantity: Double?
    var reason: String?
    var msg: String?

    enum CodingKeys: String, CodingKey {
        case type, status, reason, msg
        case commandID = "command_id"
        case requestID = "request_id"
        case userID = "user_id"
        case queueNumber = "queue_number"
        case requestQuantity = "request_quantity"
    }
}
