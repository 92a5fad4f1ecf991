import Foundation

/// A pile → server text frame of chargepile's own pile protocol, validated.
public enum PileFrame: Sendable, Equatable {
    /// The pile's own button: `on`, `off` or `repair` (a fault).
    case status(String)
    /// A reading of the energy the car charging now received this session; it overrides the model.
    case meter(requestID: Int64, energyKWh: Decimal)
    /// The pile applied a `set_status` or a `set_power`.
    case ack(commandID: Int64)

    /// Why a frame was refused, in the words of the `error` frame that answers it.
    public struct Refusal: Error, Equatable, Sendable {
        public let message: String

        public init(message: String) { self.message = message }
    }

    public static let statuses: Set<String> = ["on", "off", "repair"]

    /// The JSON text, `type` first so transcripts read naturally.
    public var text: String {
        switch self {
        case .status(let status):
            #"{"type":"status","status":\#(Self.jsonString(status))}"#
        case .meter(let requestID, let energyKWh):
            #"{"type":"meter","request_id":\#(requestID),"energy_kwh":\#(NSDecimalNumber(decimal: energyKWh).doubleValue)}"#
        case .ack(let commandID):
            #"{"type":"ack","command_id":\#(commandID)}"#
        }
    }

    private static func jsonString(_ value: String) -> String {
        // Encoding a lone String cannot fail.
        String(decoding: (try? JSONEncoder().encode(value)) ?? Data(#""""#.utf8), as: UTF8.self)
    }

    /// Frames are small JSON objects; anything else is refused with a reason the pile can log.
    public static func parse(_ text: String) throws(Refusal) -> PileFrame {
        let data = Data(text.utf8)
        let decoder = JSONDecoder()
        guard let envelope = try? decoder.decode(Envelope.self, from: data) else {
            throw Refusal(message: "帧必须是带 type 字段的JSON对象")
        }
        switch envelope.type {
        case "status":
            guard let frame = try? decoder.decode(StatusFields.self, from: data), statuses.contains(frame.status) else {
                throw Refusal(message: "字段错误: status 必须是 on/off/repair")
            }
            return .status(frame.status)
        case "meter":
            guard let frame = try? decoder.decode(MeterFields.self, from: data),
                  frame.energy_kwh.isFinite, frame.energy_kwh >= 0, frame.energy_kwh < 1e6
            else { throw Refusal(message: "字段错误: meter 需要整数 request_id 和非负数 energy_kwh") }
            return .meter(requestID: frame.request_id, energyKWh: Decimal(string: "\(frame.energy_kwh)") ?? 0)
        case "ack":
            guard let frame = try? decoder.decode(AckFields.self, from: data) else {
                throw Refusal(message: "字段错误: ack 需要整数 command_id")
            }
            return .ack(commandID: frame.command_id)
        default:
            throw Refusal(message: "未知的帧类型: \(envelope.type.prefix(32))")
        }
    }

    private struct Envelope: Decodable { var type: String }
    private struct StatusFields: Decodable { var status: String }
    private struct MeterFields: Decodable { var request_id: Int64; var energy_kwh: Double }
    private struct AckFields: Decodable { var command_id: Int64 }
}
