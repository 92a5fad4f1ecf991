import Foundation

/// A server → pile text frame of chargepile's own pile protocol: one JSON object with `type`.
public enum ServerFrame: Sendable, Equatable {
    /// Sent once after the upgrade; a pile that connects starts `off`.
    case welcome(pileID: Int, status: String)
    /// An admin's command; after `offline` the server closes the socket (1000).
    case setStatus(status: String, commandID: Int64)
    /// The car at the head of the pile's queue may charge now.
    case startCharging(requestID: Int64, userID: String, queueNumber: String, requestQuantity: Double)
    /// Stop charging that car: `completed`, `cancelled`, `fault` or `off`.
    case stopCharging(requestID: Int64, reason: String)
    /// Keep the car at or below `powerKW` until told otherwise (the station's power limit); the pile answers
    /// `ack` with the command id once it obeys. Its full power lifts the limit.
    case setPower(powerKW: Double, commandID: Int64)
    /// The pile's last frame was refused; the connection stays open.
    case error(message: String)

    public var text: String {
        let fields: Fields = switch self {
        case .welcome(let pileID, let status): Fields(type: "welcome", id: pileID, status: status)
        case .setStatus(let status, let commandID): Fields(type: "set_status", status: status, commandID: commandID)
        case .startCharging(let requestID, let userID, let queueNumber, let requestQuantity):
            Fields(type: "start_charging", requestID: requestID, userID: userID, queueNumber: queueNumber, requestQuantity: requestQuantity)
        case .stopCharging(let requestID, let reason): Fields(type: "stop_charging", requestID: requestID, reason: reason)
        case .setPower(let powerKW, let commandID): Fields(type: "set_power", commandID: commandID, powerKW: powerKW)
        case .error(let message): Fields(type: "error", msg: message)
        }
        return fields.json
    }

    /// Reads a frame the server sent; nil for anything that is not one (a client logs it as it is).
    public init?(text: String) {
        guard let fields = try? JSONDecoder().decode(Fields.self, from: Data(text.utf8)) else { return nil }
        switch fields.type {
        case "welcome":
            guard let pileID = fields.id, let status = fields.status else { return nil }
            self = .welcome(pileID: pileID, status: status)
        case "set_status":
            guard let status = fields.status, let commandID = fields.commandID else { return nil }
            self = .setStatus(status: status, commandID: commandID)
        case "start_charging":
            guard let requestID = fields.requestID, let userID = fields.userID, let queueNumber = fields.queueNumber,
                  let quantity = fields.requestQuantity
            else { return nil }
            self = .startCharging(requestID: requestID, userID: userID, queueNumber: queueNumber, requestQuantity: quantity)
        case "stop_charging":
            guard let requestID = fields.requestID, let reason = fields.reason else { return nil }
            self = .stopCharging(requestID: requestID, reason: reason)
        case "set_power":
            guard let powerKW = fields.powerKW, powerKW.isFinite, powerKW >= 0, let commandID = fields.commandID else { return nil }
            self = .setPower(powerKW: powerKW, commandID: commandID)
        case "error":
            guard let message = fields.msg else { return nil }
            self = .error(message: message)
        default:
            return nil
        }
    }

    /// Every field a server frame may carry; which ones a type needs is decided above.
    private struct Fields: Codable {
        var type: String
        var id: Int?
        var status: String?
        var commandID: Int64?
        var requestID: Int64?
        var userID: String?
        var queueNumber: String?
        var requestQuantity: Double?
        var reason: String?
        var msg: String?
        var powerKW: Double?

        enum CodingKeys: String, CodingKey {
            case type, id, status, reason, msg
            case commandID = "command_id"
            case requestID = "request_id"
            case userID = "user_id"
            case queueNumber = "queue_number"
            case requestQuantity = "request_quantity"
            case powerKW = "power_kw"
        }

        init(type: String, id: Int? = nil, status: String? = nil, commandID: Int64? = nil, requestID: Int64? = nil,
             userID: String? = nil, queueNumber: String? = nil, requestQuantity: Double? = nil, reason: String? = nil,
             msg: String? = nil, powerKW: Double? = nil) {
            self.powerKW = powerKW
            self.type = type
            self.id = id
            self.status = status
            self.commandID = commandID
            self.requestID = requestID
            self.userID = userID
            self.queueNumber = queueNumber
            self.requestQuantity = requestQuantity
            self.reason = reason
            self.msg = msg
        }

        var json: String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            // Strings, integers and finite numbers only: encoding cannot fail.
            return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
        }
    }
}
