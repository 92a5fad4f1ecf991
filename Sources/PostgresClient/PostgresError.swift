/// One error type for the whole PostgreSQL layer.
///
/// `description` is deliberately redacted: it names the kind, the SQLSTATE and the
/// server's primary message, never `detail` (which echoes row values such as
/// "Key (email)=(a@b.c) already exists") nor any bind value.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// Could not connect, or the connection broke while in use.
        case connection
        /// The server answered with an error (see `code`).
        case server
        /// A value could not be decoded into the requested Swift type.
        case decoding
        /// No pooled connection became free within the acquire timeout.
        case poolTimeout
        /// The connection, pool or listener was already closed.
        case closed
        /// libpq or the server did something this wrapper does not expect.
        case protocolViolation
    }

    public var kind: Kind
    /// The SQLSTATE, when the server sent one.
    public var code: Code?
    public var message: String
    public var detail: String?
    public var hint: String?
    /// The failing statement's text (never its bind values).
    public var query: String?

    public init(
        kind: Kind,
        code: Code? = nil,
        message: String,
        detail: String? = nil,
        hint: String? = nil,
        query: String? = nil
    ) {
        self.kind = kind
        self.code = code
        self.message = message
        self.detail = detail
        self.hint = hint
        self.query = query
    }

    public var description: String {
        var text = "PostgresError(\(kind)"
        if let code { text += ", \(code.rawValue)" }
        text += "): \(message)"
        return text
    }
}
