import Foundation

/// A pile → server frame.
enum PileOutboundFrame {
    case status(String)
    case meter(requestID: Int64, energyKWh: Double)
    case ack(commandID: Int64)

    /// The JSON text, `type` first so transcripts read naturally.
    var text: String {
        switch self {
        case .status(let status):
            #"{"type":"status","status":\#(Self.jsonString(status))}"#
        case .meter(let requestID, let energyKWh):
            #"{"type":"meter","request_id":\#(requestID),"energy_kwh":\#(energyKWh)}"#
        case .ack(let commandID):
            #"{"type":"ack","command_id":\#(commandID)}"#
        }
    }

    private static func jsonString(_ value: String) -> String {
        // Encoding a lone String cannot fail.
        String(decoding: try! JSONEncoder().encode(value), as: UTF8.self)
    }
}
