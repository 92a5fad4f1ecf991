/// Why the embedded server could not be set up, started or used.
public struct EmbeddedPostgresError: Error, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { "EmbeddedPostgres: \(message)" }
}
