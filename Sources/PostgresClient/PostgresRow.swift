/// One row of a result; decode its columns by name or position.
public struct PostgresRow: Sendable {
    let storage: PostgresRows.Storage
    let row: Int
    let sql: String?

    public var columnNames: [String] { storage.columnNames }

    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let index = storage.columnNames.firstIndex(of: column) else {
            throw PostgresError(
                kind: .decoding,
                message: "no column named \"\(column)\" (columns: \(storage.columnNames.joined(separator: ", ")))",
                query: sql
            )
        }
        return try decode(at: index, as: type)
    }

    public func decode<T: PostgresDecodable>(at index: Int, as type: T.Type = T.self) throws -> T {
        let columnCount = storage.columnNames.count
        guard (0..<columnCount).contains(index) else {
            throw PostgresError(
                kind: .decoding, message: "column index \(index) out of range (\(columnCount) columns)", query: sql)
        }
        let columnType = storage.columnTypes[index]
        guard let text = storage.values[row * columnCount + index] else {
            guard let null = T.postgresNull else {
                throw PostgresError(
                    kind: .decoding,
                    message: "column \"\(storage.columnNames[index])\" is NULL; decode it as \(T.self)? instead",
                    query: sql
                )
            }
            return null
        }
        guard let value = T(postgresText: text, type: columnType) else {
            // The value itself stays out of the message: it may be personal data.
            throw PostgresError(
                kind: .decoding,
                message: "column \"\(storage.columnNames[index])\" (type oid \(columnType.rawValue)) "
                    + "is not a valid \(T.self)",
                query: sql
            )
        }
        return value
    }

    /// True when the column is SQL NULL.
    public func isNull(at index: Int) -> Bool {
        storage.values[row * storage.columnNames.count + index] == nil
    }
}
