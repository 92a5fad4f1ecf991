/// The text is not a JSON text (or nests deeper than the parser allows).
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    /// Offset in UTF-8 bytes where the problem was found.
    public let offset: Int
}
