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

    /// Decodes this value as `T`, dates read as RFC 3339 `date-time`.
    ///
    /// For a payload that passed its schema, decoding into the matching payload type cannot fail: the
    /// types' enums and the schemas share one list of values, and dates are read by the same parser that
    /// validated them.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = OCPPDateTime.parse(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an RFC 3339 date-time: \(text)")
            }
            return date
        }
        return try decoder.decode(T.self, from: Data(jsonText.utf8))
    }
}
