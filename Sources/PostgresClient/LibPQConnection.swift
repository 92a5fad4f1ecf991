import CLibPQ
import Foundation
import Logging

/// A thin mirror of the libpq calls this package makes, and (with its siblings named
/// `LibPQ…`) the only code that touches C.
///
/// Not thread-safe, by design: libpq's PGconn has one owner at a time. Its owner
/// (`ConnectionSession`, `ListenerLoop`) confines every call to one serial thread;
/// that is why the `Sendable` conformance is unchecked.
final class LibPQConnection: @unchecked Sendable {
    private var handle: OpaquePointer?
    private var noticeSink: Unmanaged<NoticeSink>?

    private init(handle: OpaquePointer, logger: Logger) {
        self.handle = handle
        let sink = Unmanaged.passRetained(NoticeSink(logger: logger))
        noticeSink = sink
        // libpq prints notices ("there is no transaction in progress") to stderr by default.
        PQsetNoticeReceiver(handle, { context, result in
            guard let context, let result, let message = PQresultErrorField(result, fieldCode("M")) else { return }
            let sink = Unmanaged<NoticeSink>.fromOpaque(context).takeUnretainedValue()
            let severity = PQresultErrorField(result, fieldCode("V")).map { String(cString: $0) } ?? "NOTICE"
            sink.logger.debug("postgres \(severity): \(String(cString: message))")
        }, sink.toOpaque())
    }

    deinit {
        finish()
    }

    /// Blocks until connected or failed (bounded by `connect_timeout`).
    static func connect(_ parameters: [(key: String, value: String)], logger: Logger) throws -> LibPQConnection {
        let keys = parameters.map { strdup($0.key) }
        let values = parameters.map { strdup($0.value) }
        defer {
            keys.forEach { free($0) }
            values.forEach { free($0) }
        }
        let keyPointers = keys.map { UnsafePointer($0) } + [nil]
        let valuePointers = values.map { UnsafePointer($0) } + [nil]
        guard let handle = PQconnectdbParams(keyPointers, valuePointers, 1) else {
            throw PostgresError(kind: .connection, message: "libpq could not allocate a connection")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = Self.trimmed(PQerrorMessage(handle))
            PQfinish(handle)
            throw PostgresError(kind: .connection, message: message.isEmpty ? "connection failed" : message)
        }
        return LibPQConnection(handle: handle, logger: logger)
    }

    /// PQfinish exactly once; later calls do nothing.
    func finish() {
        if let handle {
            PQfinish(handle)
            self.handle = nil
        }
        noticeSink?.release()
        noticeSink = nil
    }

    var isFinished: Bool { handle == nil }

    var isBad: Bool {
        guard let handle else { return true }
        // A pipeline that could not be read to its end leaves the connection unusable for anything else.
        return PQstatus(handle) == CONNECTION_BAD || PQpipelineStatus(handle) != PQ_PIPELINE_OFF
    }

    var socket: Int32 {
        guard let handle else { return -1 }
        return PQsocket(handle)
    }

    var backendPID: Int32 {
        guard let handle else { return 0 }
        return PQbackendPID(handle)
    }

    var transactionStatus: TransactionStatus {
        guard let handle else { return .unknown }
        switch PQtransactionStatus(handle) {
        case PQTRANS_IDLE: return .idle
        case PQTRANS_ACTIVE: return .active
        case PQTRANS_INTRANS: return .inTransaction
        case PQTRANS_INERROR: return .inFailedTransaction
        default: return .unknown
        }
    }

    enum TransactionStatus {
        case idle, active, inTransaction, inFailedTransaction, unknown
    }

    var errorMessage: String {
        guard let handle else { return "connection closed" }
        return Self.trimmed(PQerrorMessage(handle))
    }

    func prepare(name: String, sql: String, types: [UInt32]) throws {
        let handle = try requireHandle()
        let result = types.withUnsafeBufferPointer { types in
            PQprepare(handle, name, sql, Int32(types.count), types.baseAddress)
        }
        _ = try consume(result, sql: sql)
    }

    func execPrepared(name: String, binds: [PostgresBind], sql: String) throws -> PostgresRows {
        let handle = try requireHandle()
        let result = try Self.withParameterValues(binds) { values in
            PQexecPrepared(handle, name, Int32(binds.count), values, nil, nil, 0)
        }
        return try consume(result, sql: sql)
    }

    /// The unnamed-statement path: parse, bind and execute in one round trip.
    func execParams(sql: String, binds: [PostgresBind]) throws -> PostgresRows {
        let handle = try requireHandle()
        let types = binds.map { $0.type.rawValue }
        let result = try Self.withParameterValues(binds) { values in
            types.withUnsafeBufferPointer { types in
                PQexecParams(handle, sql, Int32(binds.count), types.baseAddress, values, nil, nil, 0)
            }
        }
        return try consume(result, sql: sql)
    }

    /// One statement of a pipeline: by its prepared name, else parsed unnamed.
    struct PipelinedStatement {
        var sql: String
        var binds: [PostgresBind]
        var preparedName: String?
    }

    /// Pipeline mode: sends every statement and one sync, then reads their results in order, so they cost
    /// one round trip. The server runs them one after another, each with its own snapshot, as if sent one
    /// by one; without a BEGIN among them they form one implicit transaction. After a failure the rest
    /// are not run; every result is read, and the first error thrown.
    func execPipeline(_ statements: [PipelinedStatement]) throws -> [PostgresRows] {
        let handle = try requireHandle()
        guard PQenterPipelineMode(handle) == 1 else {
            throw PostgresError(kind: .protocolViolation, message: "cannot enter pipeline mode: \(errorMessage)")
        }
        defer { PQexitPipelineMode(handle) }
        for statement in statements {
            let types = statement.binds.map { $0.type.rawValue }
            let sent = try Self.withParameterValues(statement.binds) { values in
                if let name = statement.preparedName {
                    return PQsendQueryPrepared(handle, name, Int32(statement.binds.count), values, nil, nil, 0)
                }
                return types.withUnsafeBufferPointer { types in
                    PQsendQueryParams(handle, statement.sql, Int32(statement.binds.count), types.baseAddress, values, nil, nil, 0)
                }
            }
            guard sent == 1 else { throw PostgresError(kind: .connection, message: errorMessage, query: statement.sql) }
        }
        guard PQpipelineSync(handle) == 1 else { throw PostgresError(kind: .connection, message: errorMessage) }
        var results: [PostgresRows] = []
        var firstError: PostgresError?
        for statement in statements {
            var rows = PostgresRows(storage: .empty, affectedRows: 0, sql: statement.sql)
            // Each statement's results end with a NULL.
            while let result = PQgetResult(handle) {
                guard PQresultStatus(result) != PGRES_PIPELINE_ABORTED else {
                    PQclear(result)
                    continue
                }
                do {
                    rows = try consume(result, sql: statement.sql)
                } catch let error as PostgresError {
                    firstError = firstError ?? error
                }
            }
            results.append(rows)
        }
        guard let sync = PQgetResult(handle) else { throw PostgresError(kind: .connection, message: errorMessage) }
        let synced = PQresultStatus(sync) == PGRES_PIPELINE_SYNC
        PQclear(sync)
        guard synced else { throw PostgresError(kind: .protocolViolation, message: "a pipeline ended without its sync point") }
        if let firstError { throw firstError }
        return results
    }

    /// PQexec: one or more statements without parameters; returns the last result.
    func exec(_ sql: String) throws -> PostgresRows {
        let handle = try requireHandle()
        return try consume(PQexec(handle, sql), sql: sql)
    }

    /// Reads whatever the server sent; false when the connection failed.
    func consumeInput() -> Bool {
        guard let handle else { return false }
        return PQconsumeInput(handle) == 1
    }

    /// Copies out and frees every notification libpq has queued.
    func drainNotifications() -> [PostgresNotification] {
        guard let handle else { return [] }
        var notifications: [PostgresNotification] = []
        while let notify = PQnotifies(handle) {
            notifications.append(PostgresNotification(
                channel: String(cString: notify.pointee.relname),
                payload: notify.pointee.extra.map { String(cString: $0) } ?? "",
                backendPID: notify.pointee.be_pid
            ))
            PQfreemem(notify)
        }
        return notifications
    }

    func escapeIdentifier(_ identifier: String) throws -> String {
        let handle = try requireHandle()
        let utf8 = Array(identifier.utf8)
        guard let escaped = PQescapeIdentifier(handle, identifier, utf8.count) else {
            throw PostgresError(kind: .protocolViolation, message: "cannot quote identifier: \(errorMessage)")
        }
        defer { PQfreemem(escaped) }
        return String(cString: escaped)
    }

    func makeCanceller() -> LibPQCanceller? {
        guard let handle, let cancel = PQgetCancel(handle) else { return nil }
        return LibPQCanceller(cancel)
    }

    private func requireHandle() throws -> OpaquePointer {
        guard let handle else { throw PostgresError(kind: .closed, message: "connection is closed") }
        return handle
    }

    /// Copies the result out, frees it, and turns error results into `PostgresError`.
    private func consume(_ result: OpaquePointer?, sql: String) throws -> PostgresRows {
        guard let result else {
            throw PostgresError(kind: isBad ? .connection : .protocolViolation, message: errorMessage, query: sql)
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY, PGRES_SINGLE_TUPLE:
            return Self.copyRows(result, sql: sql)
        case PGRES_FATAL_ERROR, PGRES_NONFATAL_ERROR, PGRES_BAD_RESPONSE:
            throw error(from: result, sql: sql)
        default:
            throw PostgresError(
                kind: .protocolViolation,
                message: "unsupported result status \(String(cString: PQresStatus(PQresultStatus(result))))",
                query: sql
            )
        }
    }

    private func error(from result: OpaquePointer, sql: String) -> PostgresError {
        func field(_ code: Character) -> String? {
            PQresultErrorField(result, fieldCode(code)).map { String(cString: $0) }
        }
        let message = field("M") ?? Self.trimmed(PQresultErrorMessage(result))
        return PostgresError(
            kind: isBad ? .connection : .server,
            code: field("C").map(PostgresError.Code.init(rawValue:)),
            message: message.isEmpty ? errorMessage : message,
            detail: field("D"),
            hint: field("H"),
            query: sql
        )
    }

    private static func copyRows(_ result: OpaquePointer, sql: String) -> PostgresRows {
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        let affected = PQcmdTuples(result).flatMap { Int(String(cString: $0)) } ?? 0
        guard columnCount > 0 else {
            return PostgresRows(storage: .empty, affectedRows: affected, sql: sql)
        }
        var names: [String] = []
        var types: [PostgresTypeOID] = []
        names.reserveCapacity(columnCount)
        types.reserveCapacity(columnCount)
        for column in 0..<Int32(columnCount) {
            names.append(String(cString: PQfname(result, column)))
            types.append(PostgresTypeOID(rawValue: PQftype(result, column)))
        }
        var values: [String?] = []
        values.reserveCapacity(rowCount * columnCount)
        for row in 0..<Int32(rowCount) {
            for column in 0..<Int32(columnCount) {
                if PQgetisnull(result, row, column) == 1 {
                    values.append(nil)
                } else {
                    let bytes = UnsafeRawBufferPointer(
                        start: PQgetvalue(result, row, column), count: Int(PQgetlength(result, row, column)))
                    values.append(String(decoding: bytes, as: UTF8.self))
                }
            }
        }
        let storage = PostgresRows.Storage(columnNames: names, columnTypes: types, values: values, rowCount: rowCount)
        return PostgresRows(storage: storage, affectedRows: affected, sql: sql)
    }

    /// Lays the text values out NUL-terminated in one scratch buffer (on the stack when
    /// small) and passes libpq its pointers.
    private static func withParameterValues<R>(
        _ binds: [PostgresBind],
        _ body: (UnsafePointer<UnsafePointer<CChar>?>?) throws -> R
    ) throws -> R {
        if binds.isEmpty { return try body(nil) }
        var size = 0
        for bind in binds {
            guard let text = bind.text else { continue }
            guard !text.utf8.contains(0) else {
                throw PostgresError(
                    kind: .server, code: PostgresError.Code("22021"),
                    message: "a text parameter contains a NUL byte, which PostgreSQL cannot store")
            }
            size += text.utf8.count + 1
        }
        return try withUnsafeTemporaryAllocation(of: CChar.self, capacity: max(size, 1)) { buffer in
            try withUnsafeTemporaryAllocation(of: UnsafePointer<CChar>?.self, capacity: binds.count) { pointers in
                var offset = 0
                for (index, bind) in binds.enumerated() {
                    guard let text = bind.text else {
                        pointers[index] = nil
                        continue
                    }
                    let start = buffer.baseAddress! + offset
                    for byte in text.utf8 {
                        buffer[offset] = CChar(bitPattern: byte)
                        offset += 1
                    }
                    buffer[offset] = 0
                    offset += 1
                    pointers[index] = UnsafePointer(start)
                }
                return try body(UnsafePointer(pointers.baseAddress))
            }
        }
    }

    private static func trimmed(_ message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "" }
        return String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// libpq's diagnostic field codes (PG_DIAG_*) are C character literals.
private func fieldCode(_ code: Character) -> Int32 {
    Int32(code.asciiValue!)
}

/// Carries the logger into libpq's notice callback.
private final class NoticeSink {
    let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }
}
