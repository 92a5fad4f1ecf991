import ChargingDomain
import Foundation

/// The server → pile text frames of the wire contract.
public enum PileFrame {
    public static func welcome(pileID: Int, status: PileStatus) -> String {
        encode(["type": "welcome", "id": pileID, "status": status.rawValue])
    }

    public static func setStatus(_ status: PileStatus, commandID: Int64) -> String {
        encode(["type": "set_status", "status": status.rawValue, "command_id": commandID])
    }

    public static func error(_ message: String) -> String {
        encode(["type": "error", "msg": message])
    }

    public static func encode(_ object: [String: any Sendable]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

extension PileFrame {
    public static func startCharging(requestID: Int64, driver: String, queueNumber: String, requestedKWh: Decimal) -> String {
        encode(["type": "start_charging", "request_id": requestID, "user_id": driver, "queue_number": queueNumber,
                "request_quantity": NSDecimalNumber(decimal: requestedKWh).doubleValue])
    }

    public static func stopCharging(requestID: Int64, reason: StopReason) -> String {
        encode(["type": "stop_charging", "request_id": requestID, "reason": reason.rawValue])
    }
}
