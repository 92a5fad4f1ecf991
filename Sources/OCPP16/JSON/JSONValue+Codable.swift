import Foundation

extension JSONValue {
    /// The JSON value of an `Encodable` payload, dates written as OCPP timestamps (UTC, milliseconds, `Z`).
    public init(encoding value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(OCPPDateTime.format(date))
        }
        let data = try encoder.encode(value)
        self = try JSONParser.parse(String(decoding: data, as: UTF8.self))
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
