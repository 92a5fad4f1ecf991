import Foundation
@testable import PostgresClient
import Testing
import TestSupport

@Suite struct BatcherTests {
    struct Note: Encodable, Sendable {
        var text: String?
        var size: Int
    }

    static func insertNotes(_ batch: String) -> PostgresQuery {
        """
        INSERT INTO notes (text, size, written_by)
        SELECT text, size, txid_current() FROM jsonb_to_recordset(\(batch)::jsonb) AS i(n integer, text text, size integer)
        RETURNING (SELECT n FROM jsonb_to_recordset(\(batch)::jsonb) AS j(n integer, size integer) WHERE j.size = notes.size) AS n,
                  text, size, written_by
        """
    }

    func withNotes(_ body: (PostgresPool, PostgresBatcher<Note>) async throws -> Void) async throws {
        let pool = PostgresPool(conninfo: try await TestDatabase.makeDatabase(), maxConnections: 3)
        do {
            try await pool.execute("CREATE TABLE notes (size integer PRIMARY KEY CHECK (size >= 0), text text, written_by bigint NOT NULL)")
            try await body(pool, PostgresBatcher(pool: pool, statement: Self.insertNotes))
        } catch {
            await pool.close()
            throw error
        }
        await pool.close()
    }

    struct Reading: Encodable {
        var text: String?
        var wh: Decimal
        var seconds: Double
        var id: Int64
        var flag: Bool
    }

    struct Nested: Encodable {
        var tags: [String]
    }

    /// The batch's JSON written directly says what `JSONEncoder` says, as PostgreSQL reads it; a batch with
    /// a string to escape or an input that is not flat goes through `JSONEncoder`.
    @Test func batchJSONReadsAsJSONEncoderWrites() async throws {
        let texts = ["plain", "quote \" and \\ backslash", "line\nbreak\ttab\r", "\u{01}\u{1f} controls", "中文 and 🚗", "'; DROP TABLE piles; --", "", nil]
        let readings = texts.enumerated().map { index, text in
            Reading(text: text, wh: Decimal(string: "1253.987")! * Decimal(index), seconds: 0.25 * Double(index), id: Int64.max - Int64(index),
                    flag: index.isMultiple(of: 2))
        }
        func numbered<Value: Encodable>(_ inputs: [Value]) throws -> String {
            String(decoding: try JSONEncoder().encode(inputs.enumerated().map { BatchJSON.Numbered(n: $0.offset, input: $0.element) }), as: UTF8.self)
        }
        let connection = try await PostgresConnection.connect(try await TestDatabase.makeDatabase())
        let plain = readings.filter { $0.text.map { !$0.contains("\"") && !$0.contains("\\") && !$0.contains("\n") && !$0.contains("\u{01}") } ?? true }
        #expect(plain.count == 5)
        #expect(throws: BatchJSON.NotFlat.self) { try BatchJSON.flat([Nested(tags: ["a"])]) }
        #expect(throws: BatchJSON.NotFlat.self) { try BatchJSON.flat(readings) }  // strings to escape
        for (written, expected) in [(try BatchJSON.flat(plain), try numbered(plain)),
                                    (try BatchJSON.encode(readings), try numbered(readings)),
                                    (try BatchJSON.encode([Nested(tags: ["a", "b"])]), try numbered([Nested(tags: ["a", "b"])]))] {
            let same: Bool = try await connection.query("SELECT \(written)::jsonb = \(expected)::jsonb AS same").first!.decode("same")
            #expect(same, "\(written) against \(expected)")
        }
        await connection.close()
    }

    @Test func callersArrivingDuringABatchShareTheNextStatementAndEachGetsItsOwnRow() async throws {
        try await withNotes { pool, batcher in
            // The first batch waits for a lock, so the other 40 callers queue behind it.
            try await pool.withConnection { blocker in
                try await blocker.execute("BEGIN")
                try await blocker.execute("LOCK TABLE notes IN EXCLUSIVE MODE")
                try await withThrowingTaskGroup(of: (Int, String?, Int).self) { group in
                    group.addTask {
                        let row = try #require(try await batcher.run(Note(text: "first", size: 0)).first)
                        return (0, try row.decode("text"), try row.decode("size"))
                    }
                    try await eventually { batcher.onlyOneBatchRunning }
                    for size in 1...40 {
                        group.addTask {
                            // Quotes, braces and a NULL travel intact through the JSON parameter.
                            let text: String? = size == 7 ? nil : "note \"\(size)\" {x}"
                            let row = try #require(try await batcher.run(Note(text: text, size: size)).first)
                            return (size, try row.decode("text"), try row.decode("size"))
                        }
                    }
                    try await eventually { batcher.waitingCount == 40 }
                    try await blocker.execute("COMMIT")
                    for try await (size, text, returnedSize) in group {
                        #expect(returnedSize == size, "each caller gets its own row")
                        #expect(text == (size == 0 ? "first" : size == 7 ? nil : "note \"\(size)\" {x}"))
                    }
                }
            }
            let transactions: Int = try await pool.query("SELECT count(DISTINCT written_by) AS n FROM notes").first!.decode("n")
            #expect(transactions == 2, "the first note alone, then the 40 that waited in one statement")
        }
    }

    @Test func oneBadInputFailsOnlyItsOwnCaller() async throws {
        try await withNotes { pool, batcher in
            try await pool.withConnection { blocker in
                try await blocker.execute("BEGIN")
                try await blocker.execute("LOCK TABLE notes IN EXCLUSIVE MODE")
                try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
                    group.addTask { (100, try await batcher.run(Note(text: "first", size: 100)).count == 1) }
                    try await eventually { batcher.onlyOneBatchRunning }
                    for size in [1, -5, 2] {
                        group.addTask {
                            do {
                                return (size, try await batcher.run(Note(text: "x", size: size)).count == 1)
                            } catch let error as PostgresError where error.code == .checkViolation {
                                return (size, false)
                            }
                        }
                    }
                    try await eventually { batcher.waitingCount == 3 }
                    try await blocker.execute("COMMIT")
                    var written: [Int: Bool] = [:]
                    for try await (size, ok) in group { written[size] = ok }
                    #expect(written == [100: true, 1: true, -5: false, 2: true])
                }
            }
            let sizes: [Int] = try await pool.query("SELECT size FROM notes ORDER BY size").map { try $0.decode("size") }
            #expect(sizes == [1, 2, 100])
        }
    }

    /// A trickle never queues behind a running statement; `linger` gathers it.
    @Test func aSmallBatchLingersForMoreCallers() async throws {
        try await withNotes { pool, _ in
            let linger = Duration.seconds(3)
            let batcher = PostgresBatcher<Note>(pool: pool, linger: linger, statement: Self.insertNotes)
            let started = ContinuousClock.now
            let writers = try await withThrowingTaskGroup(of: Int64.self) { group in
                for size in 1...3 {
                    group.addTask { try #require(try await batcher.run(Note(text: "trickle", size: size)).first).decode("written_by") }
                }
                return try await group.reduce(into: Set<Int64>()) { $0.insert($1) }
            }
            #expect(writers.count == 1, "three callers within the linger share one statement")
            #expect(ContinuousClock.now - started >= linger)
        }
    }
}
