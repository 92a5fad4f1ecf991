import Foundation

/// A JSON value inside other encoded data (an API answer carrying a charger's payload). Numbers are
/// written through `Decimal`, which keeps every digit of an OCPP number.
extension JSONValue: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let literal): try container.encode(Decimal(string: literal) ?? 0)
        case .string(let value): try container.encode(value)
        case .array(let values): try container.encode(values)
        case .object(let object): try container.encode(object)
        }
    }
}
