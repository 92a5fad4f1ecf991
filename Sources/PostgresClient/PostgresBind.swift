/// One `$n` parameter: its text-format value (nil is SQL NULL) and a type hint.
public struct PostgresBind: Sendable, Hashable {
    /// The text the server parses with the parameter type's input function; nil is NULL.
    public var text: String?
    /// `.unspecified` lets the server infer the type from context.
    public var type: PostgresTypeOID

    public init(text: String?, type: PostgresTypeOID = .unspecified) {
        self.text = text
        self.type = type
    }

    public init<Value: PostgresEncodable>(_ value: Value) {
        self.init(text: value.postgresText, type: Value.postgresType)
    }

    public static let null = PostgresBind(text: nil)
}
