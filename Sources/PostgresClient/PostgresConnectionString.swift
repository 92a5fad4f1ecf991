import Foundation

/// Builds what the wrapper hands to libpq, and keyword/value strings for callers.
public enum PostgresConnectionString {
    /// Session settings the text decoders rely on. DateStyle goes last so it always wins;
    /// TimeZone goes first so a caller may pick another zone (offsets are parsed anyway).
    static let leadingOptions = "-c TimeZone=UTC"
    static let trailingOptions = "-c DateStyle=ISO,YMD -c extra_float_digits=3"

    /// The keyword/value pairs for `PQconnectdbParams(…, expand_dbname: 1)`.
    ///
    /// Entries before `dbname` are defaults the connection string may override; entries
    /// after it override the connection string.
    static func connectParameters(
        conninfo: String, overrides: [String: String]
    ) -> [(key: String, value: String)] {
        var parameters: [(key: String, value: String)] = [
            ("connect_timeout", "2"),
            ("fallback_application_name", "chargepile"),
            ("dbname", conninfo),
        ]
        for (key, value) in overrides.sorted(by: { $0.key < $1.key }) where key != "options" {
            parameters.append((key, value))
        }
        let givenOptions = overrides["options"]
            ?? (try? parse(conninfo))?.last(where: { $0.key == "options" })?.value
            ?? ProcessInfo.processInfo.environment["PGOPTIONS"]
            ?? ""
        parameters.append(("options", [leadingOptions, givenOptions, trailingOptions].joined(separator: " ")))
        parameters.append(("client_encoding", "UTF8"))
        return parameters
    }

    /// The options a connection string (keyword/value or URI) states explicitly, in order.
    /// A bare word is a database name, as libpq reads it.
    public static func parse(_ conninfo: String) throws -> [(key: String, value: String)] {
        let trimmed = conninfo.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { return [] }
        if !trimmed.contains("=") && !trimmed.hasPrefix("postgres://") && !trimmed.hasPrefix("postgresql://") {
            return [("dbname", trimmed)]
        }
        return try LibPQConnInfo.parse(conninfo)
    }

    /// A keyword/value connection string: `conninfo` (either form) with `overrides` applied,
    /// e.g. `keywordValue(url, overrides: ["dbname": "test_1"])`.
    public static func keywordValue(_ conninfo: String, overrides: [String: String] = [:]) throws -> String {
        var options = try parse(conninfo)
        for (key, value) in overrides.sorted(by: { $0.key < $1.key }) {
            if let index = options.firstIndex(where: { $0.key == key }) {
                options[index].value = value
            } else {
                options.append((key, value))
            }
        }
        return options.map { "\($0.key)=\(quote($0.value))" }.joined(separator: " ")
    }

    /// Quotes a value for a keyword/value string: single quotes, `\` and `'` escaped.
    public static func quote(_ value: String) -> String {
        let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
        return "'\(escaped)'"
    }
}
