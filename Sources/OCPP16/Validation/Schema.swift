import Foundation

/// A JSON Schema (draft 4) subset, just what the OCPP 1.6J schemas use. Objects never admit unknown
/// fields (all OCPP schemas say `additionalProperties: false`).
struct Schema: Sendable {
    struct Property: Sendable {
        let name: String
        let schema: Schema
    }

    indirect enum Kind: Sendable {
        /// `unknownFieldsFirst`: the schema lists `additionalProperties` before `properties` (the 1.6
        /// security extension's schemas do), so an unknown field is reported before a bad known one.
        case object(properties: [Property], required: [String], unknownFieldsFirst: Bool)
        case array(items: Schema, minItems: Int)
        case string(maxLength: Int?)
        case enumeration([String])
        case dateTime
        case integer
        /// `tenths`: the schema's `multipleOf: 0.1`.
        case number(tenths: Bool)
        case boolean
    }

    let kind: Kind

    static let integer = Schema(kind: .integer)
    static let number = Schema(kind: .number(tenths: false))
    static let numberInTenths = Schema(kind: .number(tenths: true))
    static let boolean = Schema(kind: .boolean)
    static let string = Schema(kind: .string(maxLength: nil))
    static let dateTime = Schema(kind: .dateTime)

    static func string(maxLength: Int) -> Schema {
        Schema(kind: .string(maxLength: maxLength))
    }

    static func enumeration(_ values: [String]) -> Schema {
        Schema(kind: .enumeration(values))
    }

    /// The raw values of a payload enum, in declaration order: types and schemas share one list.
    static func enumeration<E: CaseIterable & RawRepresentable>(_ type: E.Type) -> Schema where E.RawValue == String {
        enumeration(type.allCases.map(\.rawValue))
    }

    static func array(of items: Schema, minItems: Int = 0) -> Schema {
        Schema(kind: .array(items: items, minItems: minItems))
    }

    static func object(_ properties: KeyValuePairs<String, Schema> = [:], required: [String] = []) -> Schema {
        Schema(kind: .object(properties: properties.map { Property(name: $0.key, schema: $0.value) }, required: required,
                             unknownFieldsFirst: false))
    }

    /// An object of the 1.6 security extension, whose schemas list `additionalProperties` first.
    static func securityObject(_ properties: KeyValuePairs<String, Schema> = [:], required: [String] = []) -> Schema {
        Schema(kind: .object(properties: properties.map { Property(name: $0.key, schema: $0.value) }, required: required,
                             unknownFieldsFirst: true))
    }
}
