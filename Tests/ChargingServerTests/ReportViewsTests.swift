import ChargingStore
import Foundation
import PostgresClient
import TestSupport
import Testing

/// The DBA views of sql/0002_reports.sql: exact numbers on hand-written rows (midnight,
/// week and month boundaries in Asia/Shanghai), and the views on a real instance's data.
@Suite("Report views (sql/0002_reports.sql)")
struct ReportViewsTests {
    static let reportColumns =
        "pile_id, period, charging_count, charging_seconds, energy_kwh, charging_fee, service_fee, total_fee"

    @Test("daily, weekly and monthly reports group by the station's local date of finished_at")
    func periodReports() async throws {
        try await Self.withFixture { pool in
            // b2 ends 00:30 on 1 Feb in Shanghai (31 Jan in UTC); b3's 5.2504 kWh shows as 25.250 summed with b2's 20.
            try await Self.expectLines(pool, "SELECT \(Self.reportColumns) FROM report_pile_daily", [
                "(1,2024-01-31,1,1260.000,10.500,4.20,8.40,12.60)",
                "(4,2024-01-31,1,360.000,3.000,1.20,2.40,3.60)",
                "(1,2024-02-01,2,3030.500,25.250,13.25,20.20,33.45)",
                "(2,2024-02-05,1,2520.000,7.000,2.80,5.60,8.40)",
            ])
            // ISO weeks start on Monday: 29 Jan; b4 ends 00:10 on Monday 5 Feb local (Sunday in UTC).
            try await Self.expectLines(pool, "SELECT \(Self.reportColumns) FROM report_pile_weekly", [
                "(1,2024-01-29,3,4290.500,35.750,17.45,28.60,46.05)",
                "(4,2024-01-29,1,360.000,3.000,1.20,2.40,3.60)",
                "(2,2024-02-05,1,2520.000,7.000,2.80,5.60,8.40)",
            ])
            // Station 2 keeps its time in UTC, so its 16:30 UTC session stays in January.
            try await Self.expectLines(pool, "SELECT \(Self.reportColumns) FROM report_pile_monthly", [
                "(1,2024-01-01,1,1260.000,10.500,4.20,8.40,12.60)",
                "(4,2024-01-01,1,360.000,3.000,1.20,2.40,3.60)",
                "(1,2024-02-01,2,3030.500,25.250,13.25,20.20,33.45)",
                "(2,2024-02-01,1,2520.000,7.000,2.80,5.60,8.40)",
            ])
            // A pile with no detail record has no row; a filter on the period works as a DBA writes it.
            try await Self.expectLines(pool, """
                SELECT pile_id, period FROM report_pile_daily WHERE period >= date '2024-02-01' AND station_id = 1
                """, ["(1,2024-02-01)", "(2,2024-02-05)"])
            try await Self.expectLines(pool, "SELECT station_id, time_zone FROM station_clock", [
                "(1,Asia/Shanghai)", "(2,UTC)",
            ])
        }
    }

    @Test("pile_overview: status, owner and its address, last command and its outcome, totals")
    func pileOverview() async throws {
        try await Self.withFixture { pool in
            try await Self.expectLines(pool, """
                SELECT pile_id, status, connected, owner_address, owner_epoch, connected_since, cars_at_pile,
                       last_command_id, last_command_status, last_command_state, last_command_requested_at,
                       last_command_outcome, total_charging_times, total_charging_kwh
                FROM pile_overview ORDER BY pile_id
                """, [
                    #"(1,on,t,http://10.0.0.1:8081,7,"2024-03-01 01:00:00+00",2,3,off,failed,"2024-03-01 01:12:00+00","failed: websocket写入失败",4,35.750)"#,
                    "(2,off,f,,2,,0,2,on,pending,\"2024-03-01 01:11:00+00\",pending,1,7.000)",
                    "(3,offline,f,,0,,0,,,,,,0,0.000)",
                    "(4,offline,f,,0,,0,,,,,,1,3.000)",
                ])
            try await pool.execute("UPDATE pile_commands SET state = 'written', error = NULL WHERE id = 3")
            try await Self.expectLines(pool, "SELECT last_command_outcome FROM pile_overview WHERE pile_id = 1", ["(written)"])
            try await pool.execute("UPDATE pile_commands SET acked_at = finished_at WHERE id = 3")
            try await Self.expectLines(pool, "SELECT last_command_outcome FROM pile_overview WHERE pile_id = 1", ["(\"written, acked\")"])
        }
    }

    @Test("pile_queues: each pile's queue in order, then the waiting area (displaced first, snapshot order)")
    func pileQueues() async throws {
        try await Self.withFixture { pool in
            let query = """
                SELECT station_id, pile_id, position, request_id, driver, queue_number, state, request_kwh, waiting_seconds
                FROM pile_queues
                """
            // Station time is manual at 02:05:30; alice began charging 120 s after submitting.
            try await Self.expectLines(pool, query, [
                "(1,1,1,1,alice,F1,charging,20.000,120)",
                "(1,1,2,2,bob,F2,queued,15.000,300)",
                "(1,,1,4,dave,F3,displaced,8.000,240)",
                "(1,,2,9,erin,T2,waiting,7.000,209)",
                "(1,,3,3,carol,T1,waiting,5.500,270)",
            ])
            // Without the snapshot's order (a hand-made station): displaced first, then request id.
            try await pool.execute("UPDATE stations SET state = '{}' WHERE id = 1")
            let waitingArea = Array(try await Self.lines(pool, query).suffix(3))
            #expect(waitingArea == [
                "(1,,1,4,dave,F3,displaced,8.000,240)",
                "(1,,2,3,carol,T1,waiting,5.500,270)",
                "(1,,3,9,erin,T2,waiting,7.000,209)",
            ])
            // A scaled clock runs from its origin at its speed (one transaction: now() stands still).
            let bobWaiting = try await pool.withTransaction { connection in
                try await connection.execute("""
                    UPDATE stations SET clock_mode = 'scaled', clock_speed = 10, clock_real_origin = now() - interval '1 minute',
                                        clock_station_origin = '2024-03-01 02:00:30+00'
                    WHERE id = 1
                    """)
                return try await connection.query("SELECT waiting_seconds FROM pile_queues WHERE driver = 'bob'")
                    .first?.decode("waiting_seconds", as: Int.self)
            }
            #expect(bobWaiting == 600)
        }
    }

    @Test("recent_commands: newest first, with write and ack latency in milliseconds")
    func recentCommands() async throws {
        try await Self.withFixture { pool in
            try await Self.expectLines(pool, """
                SELECT command_id, pile_id, status, state, error, latency_ms, ack_ms, owner_address, requester_address
                FROM recent_commands
                """, [
                    "(3,1,off,failed,websocket写入失败,3000.000,,http://10.0.0.1:8081,http://10.0.0.2:8082)",
                    "(2,2,on,pending,,,,http://10.0.0.1:8081,http://10.0.0.1:8081)",
                    "(1,1,on,written,,12.500,20.000,http://10.0.0.1:8081,http://10.0.0.2:8082)",
                ])
            try await Self.expectLines(pool, "SELECT command_id FROM recent_commands LIMIT 1", ["(3)"])
        }
    }

    @Test("on a fresh instance's default data, and after a real session that ends past midnight in Shanghai")
    func defaultDataAndRealSession() async throws {
        // 23:50 in Shanghai on 31 January.
        let start = try Date("2024-01-31T15:50:00Z", strategy: .iso8601)
        try await TestServer.run(configure: { $0.clock = .init(mode: .manual, start: start) }) { api in
            let pool = api.pool
            let version = try await pool.query("SELECT name FROM schema_migrations WHERE version = 2")
            #expect(try version.first?.decode("name", as: String.self) == "0002_reports")
            try await Self.expectLines(pool, """
                SELECT pile_id, kind, power_kw, status, connected, owner_instance, last_command_id, last_command_outcome,
                       total_charging_times
                FROM pile_overview ORDER BY pile_id
                """, [
                    "(1,F,30.000,offline,f,,,,0)", "(2,F,30.000,offline,f,,,,0)",
                    "(3,T,10.000,offline,f,,,,0)", "(4,T,10.000,offline,f,,,,0)", "(5,T,10.000,offline,f,,,,0)",
                ])
            for view in ["report_pile_daily", "report_pile_weekly", "report_pile_monthly", "pile_queues", "recent_commands"] {
                let count = try await pool.query(PostgresQuery(unsafeSQL: "SELECT count(*) AS n FROM \(view)"))
                #expect(try count.first?.decode("n", as: Int.self) == 0, "\(view)")
            }
            try await Self.expectLines(pool, "SELECT station_id, clock_mode, time_zone, station_now FROM station_clock", [
                "(1,manual,Asia/Shanghai,\"2024-01-31 15:50:00+00\")",
            ])

            // Pile 1 connects and an admin switches it on.
            let admin = try await api.adminToken()
            let pile = try await ConnectedPile.open(api, pileID: 1)
            _ = try await pile.next()
            let switchOn = try await api.call(.post, "/admin/charge/status/set", query: ["token": admin, "id": "1", "status": "on"])
            #expect(switchOn.code == 200)
            try await eventually {
                try await Self.lines(pool, """
                    SELECT status, connected, owner_address IS NOT NULL, last_command_status, last_command_outcome
                    FROM pile_overview WHERE pile_id = 1
                    """) == ["(on,t,t,on,\"written, acked\")"]
            }
            let commands = try await Self.lines(pool, "SELECT pile_id, status, state, latency_ms >= 0 FROM recent_commands")
            #expect(commands == ["(1,on,written,t)"])

            // A driver asks for 10 kWh fast: pile 1 (30 kW) charges it from 23:50 to 00:10 local time.
            let register = try await api.call(.post, "/u/register",
                                              body: .form(["username": "vera", "password": "vera-secret", "battery_capacity": "60"]))
            #expect(register.code == 200)
            let login = try await api.call(.post, "/u/login", body: .form(["username": "vera", "password": "vera-secret"]))
            let driver = try #require(login.token)
            let submit = try await api.call(.post, "/user/charge/request",
                                            query: ["token": driver, "mode": "F", "request_quantity": "10"])
            #expect(submit.code == 200)
            try await Self.expectLines(pool, "SELECT pile_id, position, driver, state, request_kwh, waiting_seconds FROM pile_queues", ["(1,1,vera,charging,10.000,0)"])

            let advance = try await api.call(.post, "/admin/clock/advance", query: ["token": admin, "to": "2024-01-31T16:30:00Z"])
            #expect(advance.code == 200)
            try await Self.expectLines(pool, "SELECT count(*) FROM pile_queues", ["(0)"])
            // The bill finished at 16:10 UTC on 31 January: 1 February in Shanghai.
            let daily = try await Self.lines(pool, "SELECT pile_id, period, charging_count, charging_seconds, energy_kwh FROM report_pile_daily")
            #expect(daily == ["(1,2024-02-01,1,1200.000,10.000)"])
            // The report's money is the bills' money, and its totals are the pile's.
            try await Self.expectLines(pool, """
                SELECT r.charging_fee = b.charging_fee AND r.service_fee = b.service_fee AND r.total_fee = b.total_fee
                       AND r.total_fee > 0,
                       o.total_charging_times = r.charging_count AND o.total_charging_kwh = r.energy_kwh
                       AND o.total_charging_seconds = r.charging_seconds
                FROM report_pile_monthly r, bills b, pile_overview o
                WHERE r.pile_id = 1 AND b.pile_id = 1 AND o.pile_id = 1
                """, ["(t,t)"])
            try await Self.expectLines(pool, "SELECT pile_id, period FROM report_pile_weekly", ["(1,2024-01-29)"])
            await pile.stop()
        }
    }

    // MARK: - Helpers

    /// Each row of `sql` as PostgreSQL prints a record: exact numerics, NULL as nothing, timestamps in UTC.
    /// The rows of `sql`, as text, equal `expected` (compared outside `#expect`, whose
    /// expansion can't take an interpolated SQL string in a throwing call).
    static func expectLines(_ pool: PostgresPool, _ sql: String, _ expected: [String],
                            sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let actual = try await lines(pool, sql)
        #expect(actual == expected, sourceLocation: sourceLocation)
    }

    static func lines(_ pool: PostgresPool, _ sql: String) async throws -> [String] {
        let rows = try await pool.query(PostgresQuery(unsafeSQL: "SELECT (t.*)::text AS line FROM (\(sql)) t"))
        return try rows.map { try $0.decode("line", as: String.self) }
    }

    /// A migrated database holding `fixture`.
    static func withFixture(_ body: (PostgresPool) async throws -> Void) async throws {
        let pool = PostgresPool(conninfo: try await TestDatabase.makeDatabase(), maxConnections: 2)
        do {
            try await SchemaMigrator().migrate(pool)
            #expect(try await SchemaMigrator().migrate(pool).isEmpty)
            try await pool.withConnection { connection in try await connection.unsafeSimpleQuery(fixture) }
            try await body(pool)
        } catch {
            await pool.close()
            throw error
        }
        await pool.close()
    }

    /// Two stations (Asia/Shanghai by default, and one in UTC), piles, drivers, the queues at a
    /// manual station time of 2024-03-01 02:05:30 UTC, five bills, and three commands.
    static let fixture = """
        INSERT INTO stations (id, name, settings, state, clock_mode, clock_station_origin)
        VALUES (1, 'test', '{}', '{"displaced": [4], "waiting": [9, 3]}', 'manual', '2024-03-01 02:05:30+00'),
               (2, 'utc', '{"tariff": {"timeZoneIdentifier": "UTC"}}', '{}', 'manual', '2024-03-01 00:00:00+00');
        INSERT INTO instances (id, address)
        VALUES ('11111111-1111-1111-1111-111111111111', 'http://10.0.0.1:8081'),
               ('22222222-2222-2222-2222-222222222222', 'http://10.0.0.2:8082');
        INSERT INTO piles (id, station_id, kind, power_kw, password_hash, status, owner_instance, owner_epoch, connected_since,
                           total_charging_times, total_charging_kwh, total_charging_seconds)
        VALUES (1, 1, 'F', 30, '$2b$04$test', 'on', '11111111-1111-1111-1111-111111111111', 7, '2024-03-01 01:00:00+00',
                4, 35.7504, 4290.5),
               (2, 1, 'T', 10, '$2b$04$test', 'off', NULL, 2, NULL, 1, 7, 2520),
               (3, 1, 'T', 10, '$2b$04$test', 'offline', NULL, 0, NULL, 0, 0, 0),
               (4, 2, 'F', 30, '$2b$04$test', 'offline', NULL, 0, NULL, 1, 3, 360);
        INSERT INTO drivers (id, username, password_hash, battery_capacity_kwh)
        SELECT n, name, '$2b$04$test', 60
        FROM unnest(ARRAY['alice', 'bob', 'carol', 'dave', 'erin', 'frank']) WITH ORDINALITY AS t(name, n);
        INSERT INTO charging_requests (station_id, id, driver_id, mode, queue_number, request_kwh, battery_capacity_kwh, state,
                                       pile_id, queue_position, submitted_at, charging_started_at)
        VALUES (1, 1, 1, 'F', 'F1', 20, 60, 'charging', 1, 1, '2024-03-01 02:00:00+00', '2024-03-01 02:02:00+00'),
               (1, 2, 2, 'F', 'F2', 15, 60, 'queued', 1, 2, '2024-03-01 02:00:30+00', NULL),
               (1, 3, 3, 'T', 'T1', 5.5, 60, 'waiting', NULL, NULL, '2024-03-01 02:01:00+00', NULL),
               (1, 4, 4, 'F', 'F3', 8, 60, 'displaced', NULL, NULL, '2024-03-01 02:01:30+00', NULL),
               (1, 9, 5, 'T', 'T2', 7, 60, 'waiting', NULL, NULL, '2024-03-01 02:02:00.9+00', NULL);
        INSERT INTO charging_requests (station_id, id, driver_id, mode, queue_number, request_kwh, battery_capacity_kwh, state,
                                       submitted_at, charging_started_at, ended_at)
        SELECT station, id, 6, 'F', 'F' || id, 30, 60, 'finished', '2024-01-01 00:00:00+00', '2024-01-01 00:00:00+00',
               '2024-01-01 01:00:00+00'
        FROM (VALUES (1, 5), (1, 6), (1, 7), (1, 8), (2, 10)) AS t(station, id);
        INSERT INTO bills (station_id, request_id, driver_id, pile_id, energy_kwh, duration_ms, started_at, finished_at,
                           charging_fee, service_fee, total_fee, ended_by)
        VALUES (1, 5, 6, 1, 10.5, 1260000, '2024-01-31 15:09:00+00', '2024-01-31 15:30:00+00', 4.20, 8.40, 12.60, 'completed'),
               (1, 6, 6, 1, 20, 2400000, '2024-01-31 15:50:00+00', '2024-01-31 16:30:00+00', 8.00, 16.00, 24.00, 'completed'),
               (1, 7, 6, 1, 5.2504, 630500, '2024-02-01 02:49:29.5+00', '2024-02-01 03:00:00+00', 5.25, 4.20, 9.45, 'cancelled'),
               (1, 8, 6, 2, 7, 2520000, '2024-02-04 15:28:00+00', '2024-02-04 16:10:00+00', 2.80, 5.60, 8.40, 'fault'),
               (2, 10, 6, 4, 3, 360000, '2024-01-31 16:24:00+00', '2024-01-31 16:30:00+00', 1.20, 2.40, 3.60, 'completed');
        INSERT INTO pile_commands (pile_id, status, owner_instance, owner_epoch, requester_instance, state, error,
                                   requested_at, deadline, finished_at, acked_at)
        VALUES (1, 'on', '11111111-1111-1111-1111-111111111111', 7, '22222222-2222-2222-2222-222222222222', 'written', NULL,
                '2024-03-01 01:10:00+00', '2024-03-01 01:10:03+00', '2024-03-01 01:10:00.0125+00', '2024-03-01 01:10:00.02+00'),
               (2, 'on', '11111111-1111-1111-1111-111111111111', 2, '11111111-1111-1111-1111-111111111111', 'pending', NULL,
                '2024-03-01 01:11:00+00', '2024-03-01 01:11:03+00', NULL, NULL),
               (1, 'off', '11111111-1111-1111-1111-111111111111', 7, '22222222-2222-2222-2222-222222222222', 'failed',
                'websocket写入失败', '2024-03-01 01:12:00+00', '2024-03-01 01:12:03+00', '2024-03-01 01:12:03+00', NULL);
        """
}
