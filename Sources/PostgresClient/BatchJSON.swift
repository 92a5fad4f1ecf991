import Foundation

/// A batch's inputs as the JSON array its statement reads (`PostgresBatcher`): each input one flat object
/// of numbers, booleans and strings, with its position `n` added. Written directly rather than through
/// Foundation's `JSONEncoder`, whose generic boxing cost a twentieth of the server's CPU on a charging
/// day; a batch with anything else in it (a nested value, a date, a string to escape) goes through
/// `JSONEncoder` instead.
enum BatchJSON {
    static func encode<Input: Encodable>(_ inputs: [Input]) throws -> String {
        do {
            return try flat(inputs)
        } catch is NotFlat {
            let numbered = inputs.enumerated().map { Numbered(n: $0.offset, input: $0.element) }
            return String(decoding: try JSONEncoder().encode(numbered), as: UTF8.self)
        }
    }

    static func flat<Input: Encodable>(_ inputs: [Input]) throws -> String {
        let object = FlatObject()
        var text = "["
        for (n, input) in inputs.enumerated() {
            object.begin()
            try input.encode(to: FlatEncoder(object: object))
            object.append(key: "n", number: String(n))
            guard object.isFlat else { throw NotFlat() }
            text += (n == 0 ? "" : ",") + object.text + "}"
        }
        return text + "]"
    }

    struct NotFlat: Error {}

    /// An input with its position in the batch, encoded as one flat JSON object.
    struct Numbered<Value: Encodable>: Encodable {
        enum Key: String, CodingKey { case n }
        var n: Int
        var input: Value

        func encode(to encoder: any Encoder) throws {
            try input.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(n, forKey: .n)
        }
    }
}

/// The object being written; `isFlat` turns false when the input asks for anything but scalar fields.
private final class FlatObject {
    var text = ""
    var isFlat = true
    private var empty = true

    func begin() {
        text = "{"
        empty = true
    }

    func append(key: String, number: String) {
        appendKey(key)
        text += number
    }

    /// A string that needs no escaping (what batches carry: ids, statuses, names); any other makes the
    /// batch go through `JSONEncoder`.
    func append(key: String, string: String) {
        guard !string.utf8.contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 < 0x20 }) else {
            isFlat = false
            return
        }
        appendKey(key)
        text += "\"" + string + "\""
    }

    private func appendKey(_ key: String) {
        if !empty { text += "," }
        empty = false
        text += "\"" + key + "\":"  // keys are Swift property names: nothing to escape
    }
}

private struct FlatEncoder: Encoder {
    let object: FlatObject
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(FlatContainer(object: object))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        object.isFlat = false
        return NotFlatContainer()
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        object.isFlat = false
        return NotFlatContainer()
    }
}

private struct FlatContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let object: FlatObject
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil(forKey key: Key) { object.append(key: key.stringValue, number: "null") }
    mutating func encode(_ value: Bool, forKey key: Key) { object.append(key: key.stringValue, number: value ? "true" : "false") }
    mutating func encode(_ value: String, forKey key: Key) { object.append(key: key.stringValue, string: value) }
    mutating func encode(_ value: Int, forKey key: Key) { object.append(key: key.stringValue, number: String(value)) }
    mutating func encode(_ value: Int32, forKey key: Key) { object.append(key: key.stringValue, number: String(value)) }
    mutating func encode(_ value: Int64, forKey key: Key) { object.append(key: key.stringValue, number: String(value)) }

    mutating func encode(_ value: Double, forKey key: Key) throws {
        guard value.isFinite else { throw BatchJSON.NotFlat() }
        object.append(key: key.stringValue, number: value.description)
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        switch value {
        case let decimal as Decimal where decimal.isFinite: object.append(key: key.stringValue, number: decimal.description)
        case let text as String: object.append(key: key.stringValue, string: text)
        case let number as Int: object.append(key: key.stringValue, number: String(number))
        case let number as Int64: object.append(key: key.stringValue, number: String(number))
        case let number as Int32: object.append(key: key.stringValue, number: String(number))
        case let number as Double: try encode(number, forKey: key)
        case let flag as Bool: encode(flag, forKey: key)
        default: throw BatchJSON.NotFlat()
        }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        object.isFlat = false
        return KeyedEncodingContainer(FlatContainer<NestedKey>(object: FlatObject()))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        object.isFlat = false
        return NotFlatContainer()
    }

    mutating func superEncoder() -> any Encoder {
        object.isFlat = false
        return FlatEncoder(object: FlatObject())
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder() }
}

/// Accepts and drops what a flat object cannot hold; the batch then goes through `JSONEncoder`.
private struct NotFlatContainer: UnkeyedEncodingContainer, SingleValueEncodingContainer {
    var codingPath: [any CodingKey] { [] }
    var count: Int { 0 }

    mutating func encodeNil() {}
    mutating func encode<T: Encodable>(_ value: T) {}
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(FlatContainer<NestedKey>(object: FlatObject()))
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { self }
    mutating func superEncoder() -> any Encoder { FlatEncoder(object: FlatObject()) }
}
