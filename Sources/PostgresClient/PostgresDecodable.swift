import Foundation

/// A Swift value that can be read from a text-format result column.
public protocol PostgresDecodable {
    /// Parses the server's text output of a column of type `type`; nil when it doesn't fit.
    init?(postgresText text: String, type: PostgresTypeOID)
    /// The value for SQL NULL; only `Optional` has one, everything else returns nil.
    static var postgresNull: Self? { get }
}

extension PostgresDecodable {
    public static var postgresNull: Self? { nil }
}

extension Int: PostgresDecodable {
    public init?(postgresText text: String, type: PostgresTypeOID) { self.init(text) }
}

extension Int64: PostgresDecodable {
    public init?(postgresText text: String, type: PostgresTypeOID) { self.init(text) }
}

extension Int32: PostgresDecodable {
    public init?(postgresText text: String, type: PostgresTypeOID) { self.init(text) }
}

extension Int16: PostgresDecodable {
    public init?(postgresText text: String, type: PostgresTypeOID) { self.init(text) }
}

extension Double: PostgresDecodable {
    public init?(postgresText text: String, type: PostgresTypeOID) {
        switch text {
        case "NaN": self = .nan
        case "Infinity": self = .infinity
        case "-Infinity": self = -.infinity
        default: self.init(text)
        }
    }
}

extension Float: PostgresDecodable {
    public init?(postgresText text: String, type: PostgresTypeOID) {
        guard let double = Double(postgresText: text, type: type) else { return nil }
        self.init(double)
    }
}

extension String: PostgresDecodable {
    public init?(postgresText text: String, type: PostgresTypeOID) { self = text }
}

extension Bool: PostgresDecodable {
    public init?(postgresText text: String, type: PostgresTypeOID) {
        switch text {
        case "t", "true": self = true
        case "f", "false": self = false
        default: return nil
        }
    }
}

extension Date: PostgresDecodable {
    public init?(postgresText text: String, type: PostgresTypeOID) {
        guard let date = PostgresTimestamp.parse(text) else { return nil }
        self = date
    }
}

extension UUID: PostgresDecodable {
    public init?(postgresText text: String, type: PostgresTypeOID) { self.init(uuidString: text) }
}

extension Decimal: PostgresDecodable {
    public init?(postgresText text: String, type: PostgresTypeOID) {
        if text == "NaN" {
            self = .nan
            return
        }
        guard let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) else { return nil }
        self = value
    }
}

extension Array: PostgresDecodable where Element == UInt8 {
    public init?(postgresText text: String, type: PostgresTypeOID) {
        if type == .bytea {
            guard let bytes = PostgresBytea.parse(text) else { return nil }
            self = bytes
        } else {
            self = Array(text.utf8)
        }
    }
}

extension Data: PostgresDecodable {
    public init?(postgresText text: String, type: PostgresTypeOID) {
        guard let bytes = [UInt8](postgresText: text, type: type) else { return nil }
        self.init(bytes)
    }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public init?(postgresText text: String, type: PostgresTypeOID) {
        guard let value = Wrapped(postgresText: text, type: type) else { return nil }
        self = .some(value)
    }

    public static var postgresNull: Wrapped?? { .some(.none) }
}

/// `enum PileStatus: String, PostgresDecodable {}` decodes through its raw value.
extension PostgresDecodable where Self: RawRepresentable, RawValue: PostgresDecodable {
    public init?(postgresText text: String, type: PostgresTypeOID) {
        guard let raw = RawValue(postgresText: text, type: type) else { return nil }
        self.init(rawValue: raw)
    }
}
