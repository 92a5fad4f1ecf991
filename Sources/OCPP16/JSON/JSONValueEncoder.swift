import Foundation

/// Encodes an `Encodable` straight into a `JSONValue`: an answer to a charger is built as a value and
/// written once, not written by `JSONEncoder` and parsed back. Numbers keep their exact literal
/// (`Decimal` as written, no float detour), dates are OCPP timestamps (`OCPPDateTime.format`), and a
/// value JSON cannot carry (NaN, an infinity) throws.
final class JSONValueEncoder: Encoder {
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    /// What was encoded; nil until something was.
    private var stored: Storage?

    /// Containers write into a shared box, so a nested container's later writes reach its parent.
    private final class Storage {
        enum Kind { case value(JSONValue), object([String: Storage]), array([Storage]) }
        var kind: Kind
        init(_ kind: Kind) { self.kind = kind }

        var value: JSONValue {
            switch kind {
            case .value(let value): value
            case .object(let members): .object(members.mapValues(\.value))
            case .array(let elements): .array(elements.map(\.value))
            }
        }
    }

    private init(codingPath: [any CodingKey], into storage: Storage? = nil) {
        self.codingPath = codingPath
        self.stored = storage
    }

    static func encode(_ value: some Encodable) throws -> JSONValue {
        let encoder = JSONValueEncoder(codingPath: [])
        try encoder.encodeValue(value)
        return encoder.stored?.value ?? .object([:])
    }

    /// The storage, as an object or array: a second container of the same kind keeps what the first wrote.
    private func storage(_ kind: Storage.Kind) -> Storage {
        let storage = stored ?? Storage(kind)
        stored = storage
        switch (storage.kind, kind) {
        case (.object, .object), (.array, .array): break
        default: storage.kind = kind
        }
        return storage
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(KeyedContainer<Key>(storage: storage(.object([:])), codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        UnkeyedContainer(storage: storage(.array([])), codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleValue(encoder: self) }

    fileprivate func set(_ value: JSONValue) {
        if let stored { stored.kind = .value(value) } else { stored = Storage(.value(value)) }
    }

    /// Scalars as JSON values, anything else through its own `encode(to:)`.
    fileprivate func encodeValue<T: Encodable>(_ value: T) throws {
        switch value {
        case let text as String: set(.string(text))
        case let flag as Bool: set(.bool(flag))
        case let number as Int: set(.number(String(number)))
        case let number as Int32: set(.number(String(number)))
        case let number as Int64: set(.number(String(number)))
        case let number as Double:
            guard number.isFinite else {
                throw EncodingError.invalidValue(number, .init(codingPath: codingPath, debugDescription: "JSON has no \(number)"))
            }
            set(.number(number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : "\(number)"))
        case let number as Decimal:
            guard number.isFinite else {
                throw EncodingError.invalidValue(number, .init(codingPath: codingPath, debugDescription: "JSON has no \(number)"))
            }
            set(.number(number.description))
        case let date as Date: set(.string(OCPPDateTime.format(date)))
        case let json as JSONValue: set(json)
        default: try value.encode(to: self)
        }
    }

    private struct SingleValue: SingleValueEncodingContainer {
        let encoder: JSONValueEncoder
        var codingPath: [any CodingKey] { encoder.codingPath }
        mutating func encodeNil() throws { encoder.set(.null) }
        mutating func encode<T: Encodable>(_ value: T) throws { try encoder.encodeValue(value) }
    }

    private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let storage: Storage
        let codingPath: [any CodingKey]

        private func member(_ key: Key) -> JSONValueEncoder {
            let child = Storage(.value(.null))
            if case .object(var members) = storage.kind {
                members[key.stringValue] = child
                storage.kind = .object(members)
            }
            return JSONValueEncoder(codingPath: codingPath + [key], into: child)
        }

        mutating func encodeNil(forKey key: Key) throws { member(key).set(.null) }

        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try member(key).encodeValue(value) }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
            -> KeyedEncodingContainer<NestedKey> {
            member(key).container(keyedBy: keyType)
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            member(key).unkeyedContainer()
        }

        mutating func superEncoder() -> any Encoder { member(Key(stringValue: "super")!) }
        mutating func superEncoder(forKey key: Key) -> any Encoder { member(key) }
    }

    private struct UnkeyedContainer: UnkeyedEncodingContainer {
        let storage: Storage
        let codingPath: [any CodingKey]

        var count: Int {
            if case .array(let elements) = storage.kind { elements.count } else { 0 }
        }

        private func element() -> JSONValueEncoder {
            let child = Storage(.value(.null))
            let index = count
            if case .array(var elements) = storage.kind {
                elements.append(child)
                storage.kind = .array(elements)
            }
            return JSONValueEncoder(codingPath: codingPath + [Index(intValue: index)], into: child)
        }

        mutating func encodeNil() throws { element().set(.null) }
        mutating func encode<T: Encodable>(_ value: T) throws { try element().encodeValue(value) }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            element().container(keyedBy: keyType)
        }

        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            element().unkeyedContainer()
        }

        mutating func superEncoder() -> any Encoder { element() }
    }


    private struct Index: CodingKey {
        var intValue: Int?
        var stringValue: String { "\(intValue ?? 0)" }
        init(intValue: Int) { self.intValue = intValue }
        init?(stringValue: String) { nil }
    }
}
