/// The built-in type OIDs this wrapper sends as parameter hints or checks in results.
public struct PostgresTypeOID: Hashable, Sendable, RawRepresentable {
    public var rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// Lets the server infer the type from the statement (libpq's 0).
    public static let unspecified = PostgresTypeOID(rawValue: 0)
    public static let bool = PostgresTypeOID(rawValue: 16)
    public static let bytea = PostgresTypeOID(rawValue: 17)
    public static let int8 = PostgresTypeOID(rawValue: 20)
    public static let int2 = PostgresTypeOID(rawValue: 21)
    public static let int4 = PostgresTypeOID(rawValue: 23)
    public static let text = PostgresTypeOID(rawValue: 25)
    public static let json = PostgresTypeOID(rawValue: 114)
    public static let float4 = PostgresTypeOID(rawValue: 700)
    public static let float8 = PostgresTypeOID(rawValue: 701)
    public static let varchar = PostgresTypeOID(rawValue: 1043)
    public static let date = PostgresTypeOID(rawValue: 1082)
    public static let timestamp = PostgresTypeOID(rawValue: 1114)
    public static let timestamptz = PostgresTypeOID(rawValue: 1184)
    public static let numeric = PostgresTypeOID(rawValue: 1700)
    public static let uuid = PostgresTypeOID(rawValue: 2950)
    public static let jsonb = PostgresTypeOID(rawValue: 3802)
}
