import Foundation

/// A Swift value that can be sent as a text-format `$n` parameter.
public protocol PostgresEncodable: Sendable {
    /// The text the server parses with the parameter type's input function; nil is NULL.
    var postgresText: String? { get }
    /// The parameter type hint sent with the prepared statement.
    static var postgresType: PostgresTypeOID { get }
}

extension Int: PostgresEncodable {
    public var postgresText: String? { String(self) }
    public static var postgresType: PostgresTypeOID { .int8 }
}

extension Int64: PostgresEncodable {
    public var postgresText: String? { String(self) }
    public static var postgresType: PostgresTypeOID { .int8 }
}

extension Int32: PostgresEncodable {
    public var postgresText: String? { String(self) }
    public static var postgresType: PostgresTypeOID { .int4 }
}

extension Int16: PostgresEncodable {
    public var postgresText: String? { String(self) }
    public static var postgresType: PostgresTypeOID { .int2 }
}

extension Double: PostgresEncodable {
    public var postgresText: String? {
        // Swift's description is the shortest text that parses back to the same bits.
        if isNaN { return "NaN" }
        if isInfinite { return self < 0 ? "-Infinity" : "Infinity" }
        return description
    }
    public static var postgresType: PostgresTypeOID { .float8 }
}

extension Float: PostgresEncodable {
    public var postgresText: String? { Double(self).postgresText }
    public static var postgresType: PostgresTypeOID { .float8 }
}

extension String: PostgresEncodable {
    public var postgresText: String? { self }
    // Unspecified, so a string can fill a uuid, enum, json or date parameter too.
    public static var postgresType: PostgresTypeOID { .unspecified }
}

extension Substring: PostgresEncodable {
    public var postgresText: String? { String(self) }
    public static var postgresType: PostgresTypeOID { .unspecified }
}

extension Bool: PostgresEncodable {
    public var postgresText: String? { self ? "true" : "false" }
    public static var postgresType: PostgresTypeOID { .bool }
}

extension Date: PostgresEncodable {
    public var postgresText: String? { PostgresTimestamp.format(self) }
    public static var postgresType: PostgresTypeOID { .timestamptz }
}

extension UUID: PostgresEncodable {
    public var postgresText: String? { uuidString }
    public static var postgresType: PostgresTypeOID { .uuid }
}

extension Decimal: PostgresEncodable {
    public var postgresText: String? {
        isNaN ? "NaN" : description
    }
    public static var postgresType: PostgresTypeOID { .numeric }
}

extension Array: PostgresEncodable where Element == UInt8 {
    public var postgresText: String? { PostgresBytea.format(self) }
    public static var postgresType: PostgresTypeOID { .bytea }
}

extension Data: PostgresEncodable {
    public var postgresText: String? { PostgresBytea.format(self) }
    public static var postgresType: PostgresTypeOID { .bytea }
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public var postgresText: String? { self?.postgresText }
    public static var postgresType: PostgresTypeOID { Wrapped.postgresType }
}

/// `enum PileStatus: String, PostgresEncodable {}` binds its raw value.
extension PostgresEncodable where Self: RawRepresentable, RawValue: PostgresEncodable {
    public var postgresText: String? { rawValue.postgresText }
    public static var postgresType: PostgresTypeOID { RawValue.postgresType }
}
