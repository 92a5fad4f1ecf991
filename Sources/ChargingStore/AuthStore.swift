import Foundation
import PostgresClient

/// Login throttling counters and the audit trail (`auth_throttle`, `auth_events`), shared by
/// every instance through PostgreSQL.
public struct AuthStore: Sendable {
    let pool: PostgresPool
    /// Audit lines of many logins and charger handshakes, written together (group commit, at low pool
    /// priority: bookkeeping waits behind the chargers being served), and their throttle counters, read together.
    private let auditLines: PostgresBatcher<AuditLine>
    private let loginCounterReads: PostgresBatcher<LoginKeys>

    public init(pool: PostgresPool) {
        self.pool = pool
        auditLines = PostgresBatcher(pool: pool, priority: .low, statement: Self.insertAuditLinesQuery)
        loginCounterReads = PostgresBatcher(pool: pool, statement: Self.loginCountersQuery)
    }

    public enum Scope: String, Sendable {
        case account, address, register
    }

    /// One counter as the database sees it now.
    public struct Counter: Sendable, Equatable {
        public var failures: Int
        /// Seconds since the last counted event.
        public var secondsSinceLast: Double
        /// Seconds the key stays locked; nil or ≤ 0 when it is not locked.
        public var lockedFor: Double?

        init(_ row: PostgresRow, prefix: String = "") throws {
            failures = try row.decode(prefix + "failures")
            secondsSinceLast = try row.decode(prefix + "since_last")
            lockedFor = try row.decode(prefix + "locked_for", as: Double?.self)
        }

        /// The counter in columns `<prefix>failures`, `<prefix>since_last`, `<prefix>locked_for`; nil when NULL.
        static func optional(_ row: PostgresRow, prefix: String) throws -> Counter? {
            try row.decode(prefix + "failures", as: Int?.self) == nil ? nil : Counter(row, prefix: prefix)
        }
    }

    /// The live counter of a key (nil: none, or one older than `window`).
    public func counter(_ scope: Scope, key: String, window: Duration) async throws -> Counter? {
        try await pool.query("""
            SELECT failures, extract(epoch FROM now() - last_at)::float8 AS since_last,
                   extract(epoch FROM locked_until - now())::float8 AS locked_for
            FROM auth_throttle
            WHERE scope = \(scope.rawValue) AND key = \(key)
              AND (last_at > now() - make_interval(secs => \(window.inSeconds)) OR locked_until > now())
            """).first.map { try Counter($0) }
    }

    /// The live counters of a login's account and address keys, read together with other logins' (one
    /// statement for a burst of handshakes).
    public func loginCounters(account: String, address: String, window: Duration) async throws -> (account: Counter?, address: Counter?) {
        var found: (account: Counter?, address: Counter?) = (nil, nil)
        for row in try await loginCounterReads.run(LoginKeys(account: account, address: address, window_seconds: window.inSeconds)) {
            switch Scope(rawValue: try row.decode("scope")) {
            case .account: found.account = try Counter(row)
            case .address: found.address = try Counter(row)
            default: break
            }
        }
        return found
    }

    private struct LoginKeys: Encodable, Sendable {
        var account: String, address: String, window_seconds: Double
    }

    private static func loginCountersQuery(_ batch: String) -> PostgresQuery {
        """
        SELECT k.n, t.scope, t.failures, extract(epoch FROM now() - t.last_at)::float8 AS since_last,
               extract(epoch FROM t.locked_until - now())::float8 AS locked_for
        FROM batch_rows(\(batch)::jsonb) AS element, jsonb_to_record(element) AS k(n integer, account text, address text, window_seconds float8)
        JOIN auth_throttle t ON ((t.scope = 'account' AND t.key = k.account) OR (t.scope = 'address' AND t.key = k.address))
                            AND (t.last_at > now() - make_interval(secs => k.window_seconds) OR t.locked_until > now())
        """
    }

    /// Counts one more event for a key; a count older than `window` starts again. Reaching
    /// `lockAt` locks the key for `lockout`. Returns the new count.
    @discardableResult
    public func count(_ scope: Scope, key: String, window: Duration, lockAt: Int, lockout: Duration) async throws -> Int {
        try await pool.query("""
            WITH previous AS (
                SELECT CASE WHEN last_at > now() - make_interval(secs => \(window.inSeconds)) THEN failures ELSE 0 END AS failures
                FROM auth_throttle WHERE scope = \(scope.rawValue) AND key = \(key)
            )
            INSERT INTO auth_throttle AS t (scope, key, failures, first_at, last_at, locked_until)
            VALUES (\(scope.rawValue), \(key), 1, now(), now(),
                    CASE WHEN 1 >= \(lockAt) THEN now() + make_interval(secs => \(lockout.inSeconds)) END)
            ON CONFLICT (scope, key) DO UPDATE SET
                failures = coalesce((SELECT failures FROM previous), 0) + 1,
                first_at = CASE WHEN coalesce((SELECT failures FROM previous), 0) = 0 THEN now() ELSE t.first_at END,
                last_at = now(),
                locked_until = CASE WHEN coalesce((SELECT failures FROM previous), 0) + 1 >= \(lockAt)
                                    THEN now() + make_interval(secs => \(lockout.inSeconds))
                                    ELSE t.locked_until END
            RETURNING failures
            """).first!.decode("failures")
    }

    /// Forgets a key's count (a successful login clears its account's failures).
    public func clear(_ scope: Scope, key: String) async throws {
        try await pool.execute("DELETE FROM auth_throttle WHERE scope = \(scope.rawValue) AND key = \(key)")
    }

    /// Drops counters that no longer matter.
    @discardableResult
    public func purgeCounters(olderThan age: Duration) async throws -> Int {
        try await pool.execute("""
            DELETE FROM auth_throttle
            WHERE last_at < now() - make_interval(secs => \(age.inSeconds)) AND (locked_until IS NULL OR locked_until < now())
            """)
    }

    /// One line of the audit trail. Never a password or a token.
    public func record(event: String, role: AccountRole, username: String, clientAddress: String, outcome: String,
                       instance: UUID?) async throws {
        _ = try await auditLines.run(AuditLine(role: role.rawValue, event: event, username: String(username.prefix(200)),
                                               client_address: String(clientAddress.prefix(100)), outcome: outcome,
                                               instance: instance?.uuidString))
    }

    private struct AuditLine: Encodable, Sendable {
        var role: String, event: String, username: String, client_address: String, outcome: String, instance: String?
    }

    private static func insertAuditLinesQuery(_ batch: String) -> PostgresQuery {
        """
        INSERT INTO auth_events (role, event, username, client_address, outcome, instance)
        SELECT role, event, username, client_address, outcome, instance::uuid
        FROM batch_rows(\(batch)::jsonb) AS element,
            jsonb_to_record(element) AS a(n integer, role text, event text, username text, client_address text, outcome text, instance text)
        ORDER BY n
        """
    }
}
