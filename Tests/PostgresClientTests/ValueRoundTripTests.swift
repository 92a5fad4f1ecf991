import Foundation
import PostgresClient
import Testing

@Suite struct ValueRoundTripTests {
    @Test func integers() async throws {
        try await withFreshConnection { connection in
            for value in [0, 1, -1, Int.max, Int.min] {
                let row = try #require(try await connection.query("SELECT \(value) AS v").first)
                #expect(try row.decode("v", as: Int.self) == value)
                #expect(try row.decode(at: 0, as: Int64.self) == Int64(value))
            }
            for value in [Int32.max, Int32.min, 0] {
                let rows = try await connection.query("SELECT \(value) AS v, pg_typeof(\(value))::text AS t")
                #expect(try rows[0].decode("v", as: Int32.self) == value)
                #expect(try rows[0].decode("t", as: String.self) == "integer")
            }
        }
    }

    @Test func doublesRoundTripExactly() async throws {
        try await withFreshConnection { connection in
            try await connection.unsafeSimpleQuery("CREATE TABLE d (id int PRIMARY KEY, v float8)")
            let values: [Double] = [
                0, -0.0, 1, -1, 1.0 / 3, .pi, 0.1, 1e-300, -1e300, 123_456_789.123_456_78,
                .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, .leastNormalMagnitude,
                .infinity, -.infinity,
            ]
            for (id, value) in values.enumerated() {
                try await connection.execute("INSERT INTO d (id, v) VALUES (\(id), \(value))")
                let echoed = try await connection.query("SELECT \(value) AS v")[0].decode("v", as: Double.self)
                #expect(echoed.bitPattern == value.bitPattern, "echo of \(value)")
            }
            let rows = try await connection.query("SELECT id, v FROM d ORDER BY id")
            #expect(rows.count == values.count)
            for row in rows {
                let id = try row.decode("id", as: Int.self)
                #expect(try row.decode("v", as: Double.self).bitPattern == values[id].bitPattern, "stored \(values[id])")
            }
            let nan = try await connection.query("SELECT \(Double.nan) AS v")[0].decode("v", as: Double.self)
            #expect(nan.isNaN)
        }
    }

    @Test func stringsAreStoredVerbatim() async throws {
        try await withFreshConnection { connection in
            try await connection.unsafeSimpleQuery("CREATE TABLE s (id int PRIMARY KEY, v text); CREATE TABLE x (a int)")
            let values = [
                "", "plain", "héllo wörld", "电动汽车充电桩", "🚗⚡️🔋", "e\u{0301}", "'; DROP TABLE x; --",
                "Robert'); DROP TABLE s;--", "back\\slash \\x00 and 'quotes' and \"double\"", "$1 $2 ?", "line\nbreak\ttab",
                String(repeating: "long ", count: 10_000),
            ]
            for (id, value) in values.enumerated() {
                #expect(try await connection.execute("INSERT INTO s (id, v) VALUES (\(id), \(value))") == 1)
            }
            for (id, value) in values.enumerated() {
                let rows = try await connection.query("SELECT v FROM s WHERE id = \(id) AND v = \(value)")
                #expect(rows.count == 1)
                #expect(try rows.first?.decode("v", as: String.self) == value)
            }
            // The SQL-looking values did nothing.
            #expect(try await connection.query("SELECT count(*) AS n FROM x")[0].decode("n", as: Int.self) == 0)
        }
    }

    @Test func nulByteIsRefusedNotTruncated() async throws {
        try await withFreshConnection { connection in
            await #expect(throws: PostgresError.self) {
                try await connection.query("SELECT \("a\u{0}b") AS v")
            }
        }
    }

    @Test func booleans() async throws {
        try await withFreshConnection { connection in
            let row = try await connection.query("SELECT \(true) AS t, \(false) AS f, 1 = 1 AS e")[0]
            #expect(try row.decode("t", as: Bool.self) == true)
            #expect(try row.decode("f", as: Bool.self) == false)
            #expect(try row.decode("e", as: Bool.self) == true)
        }
    }

    @Test func datesKeepMillisecondsAndInstant() async throws {
        // A non-UTC session zone must not shift the instant.
        try await withFreshConnection(overrides: ["options": "-c TimeZone=Asia/Kolkata"]) { connection in
            try await connection.unsafeSimpleQuery("CREATE TABLE t (id int PRIMARY KEY, at timestamptz)")
            let dates = [
                Date(timeIntervalSince1970: 1_700_000_000.123),
                Date(timeIntervalSince1970: 0),
                Date(timeIntervalSince1970: -2_203_891_200.789),  // 1900-02-28
                Date(timeIntervalSince1970: 4_102_444_800.5),  // 2100-01-01
                Date(timeIntervalSince1970: 951_782_400.001),  // 2000-02-29
            ]
            for (id, date) in dates.enumerated() {
                try await connection.execute("INSERT INTO t (id, at) VALUES (\(id), \(date))")
                let row = try await connection.query(
                    "SELECT at, extract(epoch FROM at)::float8 AS epoch FROM t WHERE id = \(id)")[0]
                let decoded = try row.decode("at", as: Date.self)
                #expect(abs(decoded.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.000_5, "\(date)")
                #expect(abs(try row.decode("epoch", as: Double.self) - date.timeIntervalSince1970) < 0.000_5)
            }
            let text = try await connection.query("SELECT '2024-03-01 10:00:00+05:30'::timestamptz AS at")[0]
                .decode("at", as: Date.self)
            #expect(text == Date(timeIntervalSince1970: 1_709_267_400))
            let plain = try await connection.query("SELECT '2024-03-01 10:00:00.25'::timestamp AS a, '2024-03-01'::date AS d")[0]
            #expect(try plain.decode("a", as: Date.self) == Date(timeIntervalSince1970: 1_709_287_200.25))
            #expect(try plain.decode("d", as: Date.self) == Date(timeIntervalSince1970: 1_709_251_200))
            let infinite = try await connection.query("SELECT 'infinity'::timestamptz AS a")[0].decode("a", as: Date.self)
            #expect(infinite == .distantFuture)
        }
    }

    @Test func uuids() async throws {
        try await withFreshConnection { connection in
            try await connection.unsafeSimpleQuery("CREATE TABLE u (id uuid PRIMARY KEY, n int)")
            let id = UUID()
            try await connection.execute("INSERT INTO u (id, n) VALUES (\(id), 7)")
            let row = try await connection.query("SELECT id, n FROM u WHERE id = \(id)")[0]
            #expect(try row.decode("id", as: UUID.self) == id)
            // A string fills a uuid parameter too: strings are sent untyped.
            let byText = try await connection.query("SELECT n FROM u WHERE id = \(id.uuidString.lowercased())")
            #expect(try byText[0].decode("n", as: Int.self) == 7)
        }
    }

    @Test func decimalsAreExact() async throws {
        try await withFreshConnection { connection in
            try await connection.unsafeSimpleQuery("CREATE TABLE m (id int PRIMARY KEY, amount numeric(30, 9))")
            let values = ["12345678901234567890.123456789", "-0.000000001", "0", "1.5", "99.99"].map { Decimal(string: $0)! }
            for (id, value) in values.enumerated() {
                try await connection.execute("INSERT INTO m (id, amount) VALUES (\(id), \(value))")
                let stored = try await connection.query("SELECT amount FROM m WHERE id = \(id)")[0]
                #expect(try stored.decode("amount", as: Decimal.self) == value)
                #expect(try await connection.query("SELECT \(value) AS v")[0].decode("v", as: Decimal.self) == value)
            }
            let sum = try await connection.query("SELECT sum(amount) AS s FROM m")[0].decode("s", as: Decimal.self)
            #expect(sum == values.reduce(0, +))
            let asDouble = try await connection.query("SELECT 2.5::numeric AS v")[0].decode("v", as: Double.self)
            #expect(asDouble == 2.5)
            #expect(try await connection.query("SELECT 'NaN'::numeric AS v")[0].decode("v", as: Decimal.self).isNaN)
        }
    }

    @Test func bytes() async throws {
        try await withFreshConnection { connection in
            try await connection.unsafeSimpleQuery("CREATE TABLE b (id int PRIMARY KEY, data bytea)")
            let payloads: [[UInt8]] = [[], Array(0...255), [0, 0, 0], Array("text".utf8)]
            for (id, payload) in payloads.enumerated() {
                try await connection.execute("INSERT INTO b (id, data) VALUES (\(id), \(payload))")
                let row = try await connection.query("SELECT data, length(data) AS n FROM b WHERE id = \(id)")[0]
                #expect(try row.decode("data", as: [UInt8].self) == payload)
                #expect(try row.decode("n", as: Int.self) == payload.count)
            }
            let data = try await connection.query("SELECT \(Data([1, 2, 3])) AS d")[0].decode("d", as: Data.self)
            #expect(data == Data([1, 2, 3]))
        }
    }

    enum PileMode: String, PostgresEncodable, PostgresDecodable {
        case fast, slow
    }

    @Test func rawRepresentableEnums() async throws {
        try await withFreshConnection { connection in
            let row = try await connection.query("SELECT \(PileMode.fast) AS m, 'slow' AS s, 'warp' AS w")[0]
            #expect(try row.decode("m", as: PileMode.self) == .fast)
            #expect(try row.decode("s", as: PileMode.self) == .slow)
            #expect(throws: PostgresError.self) { try row.decode("w", as: PileMode.self) }
        }
    }

    @Test func nullsDecodeAsNilAndRefuseNonOptionals() async throws {
        try await withFreshConnection { connection in
            let none: Int? = nil
            let noText: String? = nil
            let noDate: Date? = nil
            let noUUID: UUID? = nil
            let noDecimal: Decimal? = nil
            let noBool: Bool? = nil
            let noDouble: Double? = nil
            let row = try await connection.query("""
                SELECT \(none) AS i, \(noText) AS s, \(noDate) AS d, \(noUUID) AS u, \(noDecimal) AS m,
                       \(noBool) AS b, \(noDouble) AS f, \(Optional(5)) AS five
                """)[0]
            #expect(try row.decode("i", as: Int?.self) == nil)
            #expect(try row.decode("s", as: String?.self) == nil)
            #expect(try row.decode("d", as: Date?.self) == nil)
            #expect(try row.decode("u", as: UUID?.self) == nil)
            #expect(try row.decode("m", as: Decimal?.self) == nil)
            #expect(try row.decode("b", as: Bool?.self) == nil)
            #expect(try row.decode("f", as: Double?.self) == nil)
            #expect(try row.decode("five", as: Int?.self) == 5)
            #expect(row.isNull(at: 0))
            let error = try #require(throws: PostgresError.self) { try row.decode("i", as: Int.self) }
            #expect(error.kind == .decoding)
            let text = try await connection.query("SELECT 'abc' AS v")[0]
            #expect(throws: PostgresError.self) { try text.decode("v", as: Int.self) }
            #expect(throws: PostgresError.self) { try text.decode("missing", as: String.self) }
        }
    }
}
