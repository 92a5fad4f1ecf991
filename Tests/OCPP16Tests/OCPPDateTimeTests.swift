import Foundation
import Testing
import OCPP16

/// `date-time` fields, through a payload that has one (HeartbeatResponse.currentTime).
@Suite struct OCPPDateTimeTests {
    private func decoded(_ text: String) throws -> Date {
        let payload: JSONValue = ["currentTime": .string(text)]
        try OCPPAction.heartbeat.validateResponse(payload)
        return try payload.decode(HeartbeatResponse.self).currentTime
    }

    private func encoded(_ date: Date) throws -> JSONValue? {
        try JSONValue(encoding: HeartbeatResponse(currentTime: date))["currentTime"]
    }

    @Test(arguments: [
        ("2026-11-30T20:00:00Z", 1_796_068_800.0),
        ("2026-11-30T20:00:00.5Z", 1_796_068_800.5),
        ("2026-11-30T21:30:00+01:30", 1_796_068_800.0),
        ("2026-11-30T18:00:00-02:00", 1_796_068_800.0),
        ("2026-11-30t20:00:00z", 1_796_068_800.0),
        ("2024-02-29T00:00:00Z", 1_709_164_800.0),
        ("1970-01-01T00:00:00.000Z", 0.0),
    ])
    func parsesRFC3339(_ text: String, _ seconds: Double) throws {
        #expect(try decoded(text).timeIntervalSince1970 == seconds)
    }

    @Test(arguments: [
        "2026-11-30", "2026-11-30T20:00:00", "2026-11-30 20:00:00Z", "2026-13-01T00:00:00Z",
        "2026-02-29T00:00:00Z", "2026-11-31T00:00:00Z", "2026-11-30T24:00:00Z", "2026-11-30T20:60:00Z",
        "2026-11-30T20:00:60Z", "2026-11-30T20:00:00.Z", "2026-11-30T20:00:00+0100", "26-11-30T20:00:00Z",
        "2026-11-30T20:00:00Z ", "yesterday", "",
    ])
    func rejectsWhatIsNotRFC3339(_ text: String) {
        #expect(throws: OCPPValidationError(
            code: .formationViolation, description: "currentTime: \"\(text)\" is not an RFC 3339 date-time"
        )) {
            try OCPPAction.heartbeat.validateResponse(["currentTime": .string(text)])
        }
    }

    @Test func formatsUTCWithMillisecondsAndZ() throws {
        #expect(try encoded(Date(timeIntervalSince1970: 1_796_068_800.123)) == "2026-11-30T20:00:00.123Z")
        #expect(try encoded(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(try encoded(Date(timeIntervalSince1970: -0.001)) == "1969-12-31T23:59:59.999Z")
        #expect(try encoded(decoded("2026-11-30T21:30:00.250+01:30")) == "2026-11-30T20:00:00.250Z")
    }

    @Test func aBadDateTimeInACallIsAFormationViolation() throws {
        let payload: JSONValue = ["connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": "2026-11-30 20:00"]
        #expect(throws: OCPPValidationError(
            code: .formationViolation, description: #"timestamp: "2026-11-30 20:00" is not an RFC 3339 date-time"#
        )) {
            try OCPPAction.statusNotification.validateRequest(payload)
        }
    }
}
