import Testing
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
