import Foundation

/// Usernames as stored and compared: Unicode NFC, trimmed, no control or invisible format
/// characters, 1 to 64 characters. Uniqueness is case-insensitive on this form (migration 0005).
public enum Username {
    public static let maxLength = 64

    /// The stored form of a username, or nil when it can't be one.
    public static func normalized(_ raw: String) -> String? {
        let name = raw.precomposedStringWithCanonicalMapping.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, name.unicodeScalars.count <= maxLength else { return nil }
        for scalar in name.unicodeScalars {
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned: return nil
            default: continue
            }
        }
        return name
    }
}
