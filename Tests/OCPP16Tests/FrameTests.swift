import Testing
import OCPP16

@Suite struct FrameTests {
    @Test(arguments: [
        #"[2,"19223201","BootNotification",{"chargePointModel":"SingleSocketCharger","chargePointVendor":"VendorX"}]"#,
        #"[3,"19223201",{"currentTime":"2013-02-01T20:53:32.486Z","interval":300,"status":"Accepted"}]"#,
        #"[4,"162376037","NotSupported","SetDisplayMessageRequest not implemented",{}]"#,
    ])
    func parsesAndSerializesBack(_ text: String) throws {
        #expect(try OCPPFrame.parse(text).text == text)
    }

    @Test func readsEachFrameType() throws {
        #expect(try OCPPFrame.parse(#" [ 2 , "a" , "Heartbeat" , { } ] "#) == .call(id: "a", action: "Heartbeat", payload: [:]))
        #expect(try OCPPFrame.parse(#"[3,"b",{"status":"Accepted"}]"#) == .callResult(id: "b", payload: ["status": "Accepted"]))
        #expect(try OCPPFrame.parse(#"[4,"c","GenericError","",{"x":[1]}]"#)
            == .callError(id: "c", code: "GenericError", description: "", details: ["x": [1]]))
        #expect(try OCPPFrame.parse(#"[3,"b",{}]"#).id == "b")
    }

    @Test func idsAreEscapedWhenSerialized() {
        #expect(OCPPFrame.callResult(id: #"a"b"#, payload: [:]).text == #"[3,"a\"b",{}]"#)
    }
}
