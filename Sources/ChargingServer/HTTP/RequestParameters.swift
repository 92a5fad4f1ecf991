import Foundation
import Hummingbird

/// The named parameters of a request, from the query string and from a form,
/// multipart or JSON body (body values win over query values of the same name).
struct RequestParameters: Sendable {
    private var values: [String: String]
    /// Objects and arrays of a JSON body, as JSON text: only `optionalJSONText` accepts them.
    private var nestedJSON: [String: String]

    init(_ values: [String: String], nestedJSON: [String: String] = [:]) {
        self.values = values
        self.nestedJSON = nestedJSON
    }

    static func parse(_ request: Request, context: some RequestContext) async throws -> RequestParameters {
        var values: [String: String] = [:]
        for (name, value) in request.uri.queryParameters {
            values[String(name)] = String(value)
        }
        guard request.method != .get, request.method != .head else { return RequestParameters(values) }
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        guard body.readableBytes > 0 else { return RequestParameters(values) }
        let bytes = Array(body.readableBytesView)
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        var fields: [String: String]
        var nestedJSON: [String: String] = [:]
        if contentType.hasPrefix("multipart/form-data") {
            guard let boundary = MultipartFormData.boundary(contentType: request.headers[.contentType] ?? ""),
                  let parsed = MultipartFormData.fields(body: bytes, boundary: boundary)
            else { throw APIError.malformedBody }
            fields = parsed
        } else if contentType.hasPrefix("application/json") {
            (fields, nestedJSON) = try jsonFields(bytes)
        } else {
            // x-www-form-urlencoded, also when a client sends no content type.
            fields = formFields(String(decoding: bytes, as: UTF8.self))
        }
        values.merge(fields) { _, body in body }
        for name in nestedJSON.keys { values[name] = nil }
        return RequestParameters(values, nestedJSON: nestedJSON)
    }

    func optionalString(_ name: String) throws(APIError) -> String? {
        // An object or array where a scalar belongs is invalid, not absent.
        if nestedJSON[name] != nil { throw .invalidParameter(name) }
        guard let value = values[name] else { return nil }
        // NUL never belongs in a parameter (PostgreSQL can't store it).
        guard !value.isEmpty, value.utf8.count <= 1024, !value.contains("\u{0}") else { throw .invalidParameter(name) }
        return value
    }

    func string(_ name: String) throws(APIError) -> String {
        guard let value = try optionalString(name) else { throw .missingParameter(name) }
        return value
    }

    func int(_ name: String) throws(APIError) -> Int {
        guard let value = Int(try string(name).trimmingCharacters(in: .whitespaces)) else { throw .invalidParameter(name) }
        return value
    }

    /// An energy in kWh, rounded half-up to whole Wh: the precision the database keeps, so a value
    /// that passes validation here (e.g. `> 0`) is still valid once stored.
    func optionalEnergyKWh(_ name: String) throws(APIError) -> Decimal? {
        guard let text = try optionalString(name)?.trimmingCharacters(in: .whitespaces) else { return nil }
        // Decimal(string:) accepts a numeric prefix ("12abc"); insist on the whole text being a number.
        guard let number = Double(text), number.isFinite, var value = Decimal(string: text) else {
            throw .invalidParameter(name)
        }
        var wattHours = Decimal()
        NSDecimalRound(&wattHours, &value, 3, .plain)
        return wattHours
    }

    /// A power in kW as whole watts, above 0 and at most `maximumWatts`; `none` for nil (no limit).
    func powerKWOrNone(_ name: String, maximumWatts: Int64, none: String = "none") throws(APIError) -> Int64? {
        let text = try string(name).trimmingCharacters(in: .whitespaces)
        if text == none { return nil }
        guard let number = Double(text), number.isFinite, number > 0, number * 1_000 <= Double(maximumWatts) else {
            throw .invalidParameter(name)
        }
        let watts = Int64((number * 1_000).rounded())
        guard watts > 0 else { throw .invalidParameter(name) }
        return watts
    }

    func energyKWh(_ name: String) throws(APIError) -> Decimal {
        guard let value = try optionalEnergyKWh(name) else { throw .missingParameter(name) }
        return value
    }

    /// One of the type's raw values, else `invalidParameter`.
    func optionalChoice<T: RawRepresentable<String>>(_ name: String, as type: T.Type) throws(APIError) -> T? {
        guard let raw = try optionalString(name) else { return nil }
        guard let value = T(rawValue: raw) else { throw .invalidParameter(name) }
        return value
    }

    func choice<T: RawRepresentable<String>>(_ name: String, as type: T.Type) throws(APIError) -> T {
        guard let value = try optionalChoice(name, as: type) else { throw .missingParameter(name) }
        return value
    }

    private static func formFields(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (part: Substring) in
                String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(part)
            }
            fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

    /// The scalars of a JSON object body as text, and its nested objects and arrays as JSON text.
    private static func jsonFields(_ bytes: [UInt8]) throws(APIError) -> ([String: String], nested: [String: String]) {
        guard let object = try? JSONDecoder().decode([String: JSONScalar].self, from: Data(bytes)) else {
            throw .malformedBody
        }
        let scalars = object.compactMapValues(\.text)
        let nestedNames = object.filter { $0.value == .nested }.map(\.key)
        guard !nestedNames.isEmpty else { return (scalars, [:]) }
        guard let whole = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            throw .malformedBody
        }
        var nested: [String: String] = [:]
        for name in nestedNames {
            guard let value = whole[name], JSONSerialization.isValidJSONObject(value),
                  let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])
            else { throw .malformedBody }
            nested[name] = String(decoding: data, as: UTF8.self)
        }
        return (scalars, nested)
    }

    /// A parameter that carries JSON: an object or array in a JSON body, or JSON text in any other place.
    func optionalJSONText(_ name: String) throws(APIError) -> String? {
        if let json = nestedJSON[name] { return json }
        return try optionalString(name)
    }
}

/// A JSON value as a parameter: numbers and booleans become their text, null is absent.
private enum JSONScalar: Decodable, Equatable {
    case text(String)
    case null
    case nested

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Int.self) { self = .text(String(value)) }
        else if let value = try? container.decode(Double.self) { self = .text("\(value)") }
        else if let value = try? container.decode(String.self) { self = .text(value) }
        else if let value = try? container.decode(Bool.self) { self = .text(String(value)) }
        else { self = .nested }
    }

    var text: String? {
        switch self {
        case .text(let value): value
        case .nested, .null: nil
        }
    }
}
