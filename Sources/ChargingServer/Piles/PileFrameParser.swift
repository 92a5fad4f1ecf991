import ChargingDomain
import Foundation

/// A pile → server frame of the wire contract, validated.
enum PileMessage: Equatable {
    case status(PileStatus)
    case meter(requestID: Int64, energyKWh: Decimal)
    case ack(commandID: Int64)

    struct Refusal: Error, Equatable { let message: String }

    private struct Envelope: Decodable { var type: String }
    private struct StatusFrame: Decodable { var status: String }
    private struct MeterFrame: Decodable { var request_id: Int64; var energy_kwh: Double }
    private struct AckFrame: Decodable { var command_id: Int64 }

    /// Frames are small JSON objects; anything else is refused with a reason the pile can log.
    static func parse(_ text: String) throws(Refusal) -> PileMessage {
        let data = Data(text.utf8)
        let decoder = JSONDecoder()
        guard let envelope = try? decoder.decode(Envelope.self, from: data) else {
            throw Refusal(message: "帧必须是带 type 字段的JSON对象")
        }
        switch envelope.type {
        case "status":
            guard let frame = try? decoder.decode(StatusFrame.self, from: data),
                  let status = PileStatus(rawValue: frame.status), status != .offline
            else { throw Refusal(message: "字段错误: status 必须是 on/off/repair") }
            return .status(status)
        case "meter":
            guard let frame = try? decoder.decode(MeterFrame.self, from: data),
                  frame.energy_kwh.isFinite, frame.energy_kwh >= 0, frame.energy_kwh < 1e6
            else { throw Refusal(message: "字段错误: meter 需要整数 request_id 和非负数 energy_kwh") }
            return .meter(requestID: frame.request_id, energyKWh: Decimal(string: "\(frame.energy_kwh)") ?? 0)
        case "ack":
            guard let frame = try? decoder.decode(AckFrame.self, from: data) else {
                throw Refusal(message: "字段错误: ack 需要整数 command_id")
            }
            return .ack(commandID: frame.command_id)
        default:
            throw Refusal(message: "未知的帧类型: \(envelope.type.prefix(32))")
        }
    }
}
