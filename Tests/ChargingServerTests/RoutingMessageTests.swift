import Foundation
import PileRouting
import Testing

@Suite("Routing messages (NOTIFY payloads)")
struct RoutingMessageTests {
    @Test("every message survives its payload; a result carries its outcome, and an older instance's bare result still parses")
    func roundTrip() {
        let messages: [RoutingMessage] = [
            .command(id: 42, pileID: 7), .result(id: 42, outcome: .written), .result(id: 9, outcome: .rejected),
            .result(id: 3, outcome: nil), .replaced(pileID: 7, epoch: 12),
        ]
        for message in messages { #expect(RoutingMessage(payload: message.payload) == message) }
        #expect(RoutingMessage(payload: "result:5") == .result(id: 5, outcome: nil))
        #expect(RoutingMessage(payload: "result:5:written") == .result(id: 5, outcome: .written))
        for garbage in ["result:5:nonsense", "result:x", "command:1", "command:1:x", "replaced::", "", "result:5:written:extra"] {
            #expect(RoutingMessage(payload: garbage) == nil, "\(garbage)")
        }
    }
}
