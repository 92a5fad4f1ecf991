import Foundation

extension Schema {
    /// The first violation, or nil when `value` conforms.
    ///
    /// "First" is the order mobilityhouse/ocpp reports: it raises the first error of `jsonschema`'s
    /// `iter_errors`, which walks each schema's keywords in order (type, properties in declaration order,
    /// additionalProperties, required; for arrays minItems, then items), depth first. So
    /// `{"connectorId": "1"}` without its required fields is a type error, not a missing field.
    ///
    /// Codes follow mobilityhouse/ocpp 2.1.0 `validate_payload` for 1.6: `type` and `maxLength` →
    /// TypeConstraintViolation; `required` → ProtocolError; `additionalProperties` and everything else
    /// (enum, format, minItems, multipleOf) → FormationViolation (mobilityhouse raises its
    /// `FormatViolationError`, whose code is 2.0's name for 1.6's FormationViolation).
    func firstViolation(in value: JSONValue, at path: String = "") -> OCPPValidationError? {
        func violation(_ code: OCPPErrorCode, _ message: String, field: String? = nil) -> OCPPValidationError {
            let location = field.map { Self.join(path, $0) } ?? path
            return OCPPValidationError(code: code, description: "\(location.isEmpty ? "payload" : location): \(message)")
        }
        func typeViolation(_ expected: String) -> OCPPValidationError {
            violation(.typeConstraintViolation, "expected \(expected)")
        }

        switch kind {
        case .object(let properties, let required, let unknownFieldsFirst):
            guard case .object(let object) = value else { return typeViolation("object") }
            let known = Set(properties.map(\.name))
            let unknownField = object.keys.filter({ !known.contains($0) }).sorted().first
            if unknownFieldsFirst, let unknownField {
                return violation(.formationViolation, "unknown field", field: unknownField)
            }
            for property in properties {
                guard let field = object[property.name] else { continue }
                if let found = property.schema.firstViolation(in: field, at: Self.join(path, property.name)) {
                    return found
                }
            }
            if let unknownField {
                return violation(.formationViolation, "unknown field", field: unknownField)
            }
            if let missing = required.first(where: { object[$0] == nil }) {
                return violation(.protocolError, "missing required field", field: missing)
            }
            return nil

        case .array(let items, let minItems):
            guard case .array(let elements) = value else { return typeViolation("array") }
            if elements.count < minItems {
                return violation(.formationViolation, "expected at least \(minItems) item\(minItems == 1 ? "" : "s")")
            }
            for (index, element) in elements.enumerated() {
                if let found = items.firstViolation(in: element, at: "\(path)[\(index)]") { return found }
            }
            return nil

        case .string(let maxLength):
            guard case .string(let string) = value else { return typeViolation("string") }
            if let maxLength, string.unicodeScalars.count > maxLength {
                return violation(.typeConstraintViolation, "longer than \(maxLength) characters")
            }
            return nil

        case .enumeration(let values):
            guard case .string(let string) = value else { return typeViolation("string") }
            if !values.contains(string) {
                return violation(.formationViolation, "\"\(string)\" is not one of \(values.joined(separator: ", "))")
            }
            return nil

        case .dateTime:
            guard case .string(let string) = value else { return typeViolation("string") }
            if OCPPDateTime.parse(string) == nil {
                return violation(.formationViolation, "\"\(string)\" is not an RFC 3339 date-time")
            }
            return nil

        case .integer:
            guard case .number = value else { return typeViolation("integer") }
            if value.integerValue == nil { return typeViolation("integer (no fraction or exponent, 64-bit)") }
            return nil

        case .number(let tenths):
            guard case .number(let literal) = value else { return typeViolation("number") }
            guard let double = Double(literal), double.isFinite else { return typeViolation("finite number") }
            if tenths && !Self.isMultipleOfTenth(literal) {
                return violation(.formationViolation, "expected a multiple of 0.1")
            }
            return nil

        case .boolean:
            guard case .bool = value else { return typeViolation("boolean") }
            return nil
        }
    }

    private static func join(_ path: String, _ field: String) -> String {
        path.isEmpty ? field : "\(path).\(field)"
    }

    /// Decimal arithmetic, as mobilityhouse does for these fields: in binary floating point 21.4 is no
    /// multiple of 0.1.
    private static func isMultipleOfTenth(_ literal: String) -> Bool {
        guard var tenfold = Decimal(string: literal, locale: Locale(identifier: "en_US_POSIX")).map({ $0 * 10 }),
              tenfold.isFinite
        else { return false }
        var rounded = Decimal()
        NSDecimalRound(&rounded, &tenfold, 0, .plain)
        return rounded == tenfold
    }
}
