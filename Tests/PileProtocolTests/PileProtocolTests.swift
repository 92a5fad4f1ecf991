import Foundation
import PileProtocol
import Testing

@Suite("Pile protocol frames")
struct PileProtocolTests {
    @Test("server frames round-trip through their text, with the wire contract's keys")
    func serverFrames() throws {
        let frames: [ServerFrame] = [
            .welcome(pileID: 3, status: "off"), .setStatus(status: "repair", commandID: 42),
            .startCharging(requestID: 7, userID: "alice", queueNumber: "T1", requestQuantity: 20.5),
            .stopCharging(requestID: 7, reason: "cancelled"), .error(message: "电表读数无效"),
        ]
        for frame in frames {
            #expect(ServerFrame(text: frame.text) == frame, "\(frame.text)")
        }
        let start = try #require(JSONSerialization.jsonObject(with: Data(frames[2].text.utf8)) as? [String: Any])
        #expect(Set(start.keys) == ["type", "request_id", "user_id", "queue_number", "request_quantity"])
        #expect(start["type"] as? String == "start_charging")
        #expect(ServerFrame(text: #"{"type":"set_status","status":"on"}"#) == nil, "command_id is required")
        #expect(ServerFrame(text: "not json") == nil)
    }

    @Test("pile frames: what a pile sends parses back; bad frames are refused with a reason")
    func pileFrames() throws {
        for frame: PileFrame in [.status("on"), .meter(requestID: 9, energyKWh: Decimal(string: "4.25")!), .ack(commandID: 12)] {
            #expect(try PileFrame.parse(frame.text) == frame, "\(frame.text)")
        }
        #expect(PileFrame.status("on").text == #"{"type":"status","status":"on"}"#)
        let refused: [(String, String)] = [
            ("[]", "帧必须是带 type 字段的JSON对象"),
            (#"{"type":"status","status":"offline"}"#, "字段错误: status 必须是 on/off/repair"),
            (#"{"type":"meter","request_id":1,"energy_kwh":-1}"#, "字段错误: meter 需要整数 request_id 和非负数 energy_kwh"),
            (#"{"type":"meter","request_id":"1","energy_kwh":1}"#, "字段错误: meter 需要整数 request_id 和非负数 energy_kwh"),
            (#"{"type":"ack"}"#, "字段错误: ack 需要整数 command_id"),
            (#"{"type":"dance"}"#, "未知的帧类型: dance"),
        ]
        for (text, message) in refused {
            #expect(throws: PileFrame.Refusal(message: message)) { try PileFrame.parse(text) }
        }
    }
}
