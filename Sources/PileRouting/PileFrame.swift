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
