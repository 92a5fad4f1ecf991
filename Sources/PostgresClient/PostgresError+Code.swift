extension PostgresError {
    /// A SQLSTATE code; extensible, compare against the named constants.
    public struct Code: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
        public var rawValue: String

        public init(rawValue: String) {
            self.rawValue = rawValue
        }

        public init(_ rawValue: String) {
            self.rawValue = rawValue
        }

        public var description: String { rawValue }

        /// The two-character class, e.g. "23" for integrity constraint violations.
        public var errorClass: String { String(rawValue.prefix(2)) }

        public static let uniqueViolation = Code("23505")
        public static let foreignKeyViolation = Code("23503")
        public static let checkViolation = Code("23514")
        public static let notNullViolation = Code("23502")
        public static let exclusionViolation = Code("23P01")
        public static let syntaxError = Code("42601")
        public static let undefinedTable = Code("42P01")
        public static let undefinedColumn = Code("42703")
        public static let undefinedFunction = Code("42883")
        public static let duplicateTable = Code("42P07")
        public static let duplicateDatabase = Code("42P04")
        public static let duplicateObject = Code("42710")
        public static let invalidTextRepresentation = Code("22P02")
        public static let numericValueOutOfRange = Code("22003")
        public static let divisionByZero = Code("22012")
        public static let raiseException = Code("P0001")
        public static let queryCanceled = Code("57014")
        public static let adminShutdown = Code("57P01")
        public static let crashShutdown = Code("57P02")
        public static let cannotConnectNow = Code("57P03")
        public static let serializationFailure = Code("40001")
        public static let deadlockDetected = Code("40P01")
        public static let lockNotAvailable = Code("55P03")
        public static let inFailedTransaction = Code("25P02")
        public static let invalidSQLStatementName = Code("26000")
        public static let featureNotSupported = Code("0A000")
        public static let tooManyConnections = Code("53300")
        public static let invalidPassword = Code("28P01")
        public static let invalidAuthorizationSpecification = Code("28000")
        public static let invalidCatalogName = Code("3D000")
    }
}

extension PostgresError {
    /// Worth running again as a whole: nothing of it committed, and the cause passes (no free
    /// connection yet, a connection lost or refused while the server restarts or fails over, a
    /// deadlock or serialization failure that rolled the transaction back).
    public var isTransient: Bool {
        switch kind {
        case .poolTimeout, .connection: return true
        case .server:
            guard let code else { return false }
            return code.errorClass == "40" || code.errorClass == "08"
                || [.adminShutdown, .crashShutdown, .cannotConnectNow].contains(code)
        case .decoding, .closed, .protocolViolation: return false
        }
    }
}
