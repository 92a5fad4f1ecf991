import Foundation

extension JSONValue {
    /// The JSON value of an `Encodable` payload, dates written as OCPP timestamps (UTC, milliseconds, `Z`)
    /// (`JSONValueEncoder`).
    public init(encoding value: some Encodable) throws {
        self = try JSONValueEncoder.encode(value)
    }

    /// Decodes this value as `T`, dates read as RFC 3339 `date-time` (`JSONValueDecoder`).
    ///
    /// For a payload that passed its schema, decoding into the matching payload type cannot fail: the
    /// types' enums and the schemas share one list of values, and dates are read by the same parser that
    /// validated them.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONValueDecoder(self).decode(type)
    }
}
