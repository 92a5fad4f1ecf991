import Foundation

/// Decodes a `Decodable` straight from a parsed `JSONValue`: a charger's payload is parsed once (for its
/// schema) and not written back to text for `JSONDecoder` to parse again. Numbers are read from their
/// literal (`Decimal` exactly), dates with `OCPPDateTime`, as the schemas validated them.
///
/// Every message of a charging session passes through here, so a field costs what reading it costs: its
/// coding path is a chain of nodes made only for a nested container (an array for an error's context
/// only), and scalars are read by the concrete `decode` overloads, without a decoder or a dynamic cast.
struct JSONValueDecoder: Decoder {
    let value: JSONValue
    let path: CodingPathNode?
    var codingPath: [any CodingKey] { path?.keys ?? [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(_ value: JSONValue, path: CodingPathNode? = nil) {
        self.value = value
        self.path = path
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let object) = value else { throw Self.mismatch([String: JSONValue].self, value, path) }
        return KeyedDecodingContainer(KeyedContainer<Key>(object: object, path: path))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else { throw Self.mismatch([JSONValue].self, value, path) }
        return UnkeyedContainer(elements: elements, path: path)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleValue(decoder: self) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try Self.decode(type, from: value, at: path) }

    /// `value` as `T`: scalars from the JSON value, anything else through its own `init(from:)`.
    static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue, at path: @autoclosure () -> CodingPathNode?) throws -> T {
        func unwrap<Decoded>(_ decoded: Decoded?) throws -> T {
            guard let decoded else { throw mismatch(type, value, path()) }
            return decoded as! T
        }
        switch type {
        case is String.Type: return try unwrap(value.stringValue)
        case is Bool.Type: return try unwrap(bool(value))
        case is Int.Type: return try unwrap(integer(value))
        case is Int32.Type: return try unwrap(integer(value).flatMap(Int32.init(exactly:)))
        case is Int64.Type: return try unwrap(integer(value).flatMap(Int64.init(exactly:)))
        case is Double.Type: return try unwrap(number(value).flatMap(Double.init))
        case is Decimal.Type: return try unwrap(number(value).flatMap { Decimal(string: $0, locale: Locale(identifier: "en_US_POSIX")) })
        case is Date.Type: return try unwrap(value.stringValue.flatMap(OCPPDateTime.parse))
        default: return try T(from: JSONValueDecoder(value, path: path()))
        }
    }

    static func mismatch(_ type: Any.Type, _ value: JSONValue, _ path: CodingPathNode?) -> DecodingError {
        .typeMismatch(type, .init(codingPath: path?.keys ?? [], debugDescription: "found \(value.jsonText)"))
    }

    private static func bool(_ value: JSONValue) -> Bool? {
        guard case .bool(let flag) = value else { return nil }
        return flag
    }

    private static func number(_ value: JSONValue) -> String? {
        guard case .number(let literal) = value else { return nil }
        return literal
    }

    private static func integer(_ value: JSONValue) -> Int? {
        guard let literal = number(value) else { return nil }
        return Int(literal) ?? Double(literal).flatMap { Int(exactly: $0) }
    }

    private struct SingleValue: SingleValueDecodingContainer {
        let decoder: JSONValueDecoder
        var codingPath: [any CodingKey] { decoder.codingPath }
        func decodeNil() -> Bool { decoder.value == .null }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decode(type) }
    }

    private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let object: [String: JSONValue]
        let path: CodingPathNode?
        var codingPath: [any CodingKey] { path?.keys ?? [] }

        var allKeys: [Key] { object.keys.compactMap(Key.init(stringValue:)) }
        func contains(_ key: Key) -> Bool { object[key.stringValue] != nil }

        private func value(_ key: Key) throws -> JSONValue {
            guard let value = object[key.stringValue] else {
                throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no \(key.stringValue)"))
            }
            return value
        }

        private func child(_ key: Key) -> CodingPathNode { CodingPathNode(parent: path, key: key) }

        func decodeNil(forKey key: Key) throws -> Bool { try value(key) == .null }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try JSONValueDecoder.decode(type, from: value(key), at: child(key))
        }

        func decode(_ type: String.Type, forKey key: Key) throws -> String {
            let value = try value(key)
            guard let string = value.stringValue else { throw JSONValueDecoder.mismatch(type, value, child(key)) }
            return string
        }

        func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
            guard let value = object[key.stringValue], value != .null else { return nil }
            return try JSONValueDecoder.decode(type, from: value, at: child(key))
        }

        func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
            guard let value = object[key.stringValue], value != .null else { return nil }
            guard let string = value.stringValue else { throw JSONValueDecoder.mismatch(type, value, child(key)) }
            return string
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
            -> KeyedDecodingContainer<NestedKey> {
            try JSONValueDecoder(value(key), path: child(key)).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try JSONValueDecoder(value(key), path: child(key)).unkeyedContainer()
        }

        func superDecoder() throws -> any Decoder { JSONValueDecoder(.object(object), path: path) }

        func superDecoder(forKey key: Key) throws -> any Decoder {
            JSONValueDecoder(object[key.stringValue] ?? .null, path: child(key))
        }
    }

    private struct UnkeyedContainer: UnkeyedDecodingContainer {
        let elements: [JSONValue]
        let path: CodingPathNode?
        var codingPath: [any CodingKey] { path?.keys ?? [] }
        var currentIndex = 0

        init(elements: [JSONValue], path: CodingPathNode?) {
            self.elements = elements
            self.path = path
        }

        var count: Int? { elements.count }
        var isAtEnd: Bool { currentIndex >= elements.count }

        private mutating func next() throws -> (value: JSONValue, path: CodingPathNode) {
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(JSONValue.self, .init(codingPath: codingPath, debugDescription: "no more elements"))
            }
            defer { currentIndex += 1 }
            return (elements[currentIndex], CodingPathNode(parent: path, key: Index(intValue: currentIndex)))
        }

        mutating func decodeNil() throws -> Bool {
            guard !isAtEnd, elements[currentIndex] == .null else { return false }
            currentIndex += 1
            return true
        }

        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            let (value, path) = try next()
            return try JSONValueDecoder.decode(type, from: value, at: path)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            let (value, path) = try next()
            return try JSONValueDecoder(value, path: path).container(keyedBy: type)
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            let (value, path) = try next()
            return try JSONValueDecoder(value, path: path).unkeyedContainer()
        }

        mutating func superDecoder() throws -> any Decoder {
            let (value, path) = try next()
            return JSONValueDecoder(value, path: path)
        }
    }

    private struct Index: CodingKey {
        var intValue: Int?
        var stringValue: String { "\(intValue ?? 0)" }
        init(intValue: Int) { self.intValue = intValue }
        init?(stringValue: String) { nil }
    }
}

/// One step of a coding path, linked to the steps before it.
final class CodingPathNode {
    let parent: CodingPathNode?
    let key: any CodingKey

    init(parent: CodingPathNode?, key: any CodingKey) {
        self.parent = parent
        self.key = key
    }

    var keys: [any CodingKey] { (parent?.keys ?? []) + [key] }
}
