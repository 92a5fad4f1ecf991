import Testing
import Foundation
import OCPP16

@Suite struct JSONValueTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try JSONValue(parsing: #" {"a": [1, -2.5e3, "x", true, false, null], "b": {}} "#)
        #expect(value == ["a": [1, .number("-2.5e3"), "x", true, false, nil], "b": [:]])
    }

    @Test func keepsNumberLiteralsDistinct() throws {
        #expect(try JSONValue(parsing: "1") == .number("1"))
        #expect(try JSONValue(parsing: "1.0") == .number("1.0"))
        #expect(try JSONValue(parsing: "1.0").integerValue == nil)
        #expect(try JSONValue(parsing: "1e2").integerValue == nil)
        #expect(try JSONValue(parsing: "-42").integerValue == -42)
        #expect(try JSONValue(parsing: "99999999999999999999").integerValue == nil)
    }

    @Test func booleansAreNotNumbers() throws {
        #expect(try JSONValue(parsing: "true") == .bool(true))
        #expect(try JSONValue(parsing: "[0, false]") == [0, false])
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let value = try JSONValue(parsing: #""a\"b\\c\/d\n\t\u00e9\ud83d\ude00""#)
        #expect(value == .string("a\"b\\c/d\n\té😀"))
    }

    @Test(arguments: [
        "", "[", "[1,]", "{\"a\":1,}", "{'a':1}", "01", "1.", ".5", "-", "1e", "tru", "nul", "[1] 2",
        "\"\u{01}\"", #""\x""#, #""\ud83d""#, #""\ude00""#, "\"open", "// comment\n1", "NaN", "Infinity",
    ])
    func rejectsWhatIsNotJSON(_ text: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONValue(parsing: text) }
    }

    @Test func refusesDeepNesting() throws {
        let shallow = String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
        #expect(throws: Never.self) { try JSONValue(parsing: shallow) }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONSyntaxError.self) { try JSONValue(parsing: deep) }
    }

    @Test func duplicateKeyKeepsTheLast() throws {
        #expect(try JSONValue(parsing: #"{"a":1,"a":2}"#) == ["a": 2])
    }

    @Test func serializesCompactlyWithSortedKeysAndEscapes() throws {
        let value: JSONValue = ["b": [1, 2.5, nil], "a": "quote\" backslash\\ line\n bell\u{07} é"]
        #expect(value.jsonText == #"{"a":"quote\" backslash\\ line\n bell\u0007 é","b":[1,2.5,null]}"#)
        #expect(try JSONValue(parsing: value.jsonText) == value)
    }
}

/// Payloads are decoded straight from the parsed value (`JSONValue.decode`), not through JSON text again.
@Suite struct JSONValueDecodingTests {
    private struct Sample: Decodable, Equatable {
        enum Phase: String, Decodable { case l1 = "L1", l2 = "L2" }
        var count: Int
        var limit: Double
        var amount: Decimal
        var at: Date
        var phases: [Phase]
        var note: String?
        var nested: [String: Int]?
    }

    @Test func decodesScalarsDatesArraysAndOptionals() throws {
        let value = try JSONValue(parsing: #"{"count": 3, "limit": 7.5, "amount": 0.1, "at": "2025-01-01T08:00:00.250+08:00", "phases": ["L1", "L2"], "note": null}"#)
        let sample = try value.decode(Sample.self)
        #expect(sample == Sample(count: 3, limit: 7.5, amount: Decimal(string: "0.1")!, at: Date(timeIntervalSince1970: 1_735_689_600.25),
                                 phases: [.l1, .l2], note: nil, nested: nil))
    }

    @Test func refusesWhatDoesNotFit() throws {
        #expect(throws: DecodingError.self) { try JSONValue(parsing: #"{"limit": 1, "amount": 1, "at": "x", "phases": []}"#).decode(Sample.self) }
        #expect(throws: DecodingError.self) {
            try JSONValue(parsing: #"{"count": "3", "limit": 1, "amount": 1, "at": "2025-01-01T00:00:00Z", "phases": []}"#).decode(Sample.self)
        }
        #expect(throws: DecodingError.self) {
            try JSONValue(parsing: #"{"count": 1.5, "limit": 1, "amount": 1, "at": "2025-01-01T00:00:00Z", "phases": []}"#).decode(Sample.self)
        }
        #expect(throws: DecodingError.self) {
            try JSONValue(parsing: #"{"count": 1, "limit": 1, "amount": 1, "at": "2025-01-01T00:00:00Z", "phases": ["L9"]}"#).decode(Sample.self)
        }
    }
}

/// Outbound payloads are encoded straight into a value (`JSONValue(encoding:)`), not through JSON text.
@Suite struct JSONValueEncodingTests {
    private struct Sample: Encodable {
        struct Period: Encodable { var startPeriod: Int; var limit: Double }
        var count: Int
        var amount: Decimal
        var at: Date
        var periods: [Period]
        var note: String?
        var raw: JSONValue
    }

    @Test func encodesScalarsDatesNestedValuesAndSkipsNil() throws {
        let sample = Sample(count: 3, amount: Decimal(string: "0.1")!, at: Date(timeIntervalSince1970: 1_735_689_600.25),
                            periods: [.init(startPeriod: 0, limit: 7.5), .init(startPeriod: 60, limit: 22)], note: nil, raw: ["a": [1, nil]])
        let value = try JSONValue(encoding: sample)
        #expect(value == ["count": 3, "amount": .number("0.1"), "at": "2025-01-01T00:00:00.250Z",
                          "periods": [["startPeriod": 0, "limit": .number("7.5")], ["startPeriod": 60, "limit": 22]], "raw": ["a": [1, nil]]])
        #expect(value.jsonText == #"{"amount":0.1,"at":"2025-01-01T00:00:00.250Z","count":3,"periods":[{"limit":7.5,"startPeriod":0},{"limit":22,"startPeriod":60}],"raw":{"a":[1,null]}}"#)
    }

    @Test func refusesWhatJSONCannotCarry() {
        struct Limit: Encodable { var limit: Double }
        #expect(throws: EncodingError.self) { try JSONValue(encoding: Limit(limit: .nan)) }
        #expect(throws: EncodingError.self) { try JSONValue(encoding: Limit(limit: .infinity)) }
    }
}
