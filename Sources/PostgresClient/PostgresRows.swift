/// The rows of one result, copied out of libpq's PGresult (which is already freed).
public struct PostgresRows: Sendable, RandomAccessCollection {
    /// Column-major facts plus one flat, row-major array of text values (nil is NULL).
    final class Storage: Sendable {
        let columnNames: [String]
        let columnTypes: [PostgresTypeOID]
        let values: [String?]
        let rowCount: Int

        init(columnNames: [String], columnTypes: [PostgresTypeOID], values: [String?], rowCount: Int) {
            self.columnNames = columnNames
            self.columnTypes = columnTypes
            self.values = values
            self.rowCount = rowCount
        }

        static let empty = Storage(columnNames: [], columnTypes: [], values: [], rowCount: 0)
    }

    let storage: Storage
    /// Rows inserted, updated, deleted or returned, as the command tag reports it.
    public var affectedRows: Int
    /// The statement's text, carried for error context.
    let sql: String?

    init(storage: Storage, affectedRows: Int, sql: String?) {
        self.storage = storage
        self.affectedRows = affectedRows
        self.sql = sql
    }

    public var columnNames: [String] { storage.columnNames }

    public var startIndex: Int { 0 }
    public var endIndex: Int { storage.rowCount }

    public subscript(position: Int) -> PostgresRow {
        precondition(indices.contains(position), "row index \(position) out of range")
        return PostgresRow(storage: storage, row: position, sql: sql)
    }
}
