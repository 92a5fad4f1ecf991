import Foundation
import PostgresClient

/// OCPP local authorization lists (`ocpp_local_lists`, migration 0011): what each charger's configuration
/// says, the list version it holds, and up to which idTag revision that list is current.
public struct LocalListStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    /// Connected OCPP piles that booted on a connection whose configuration was not read yet: marked read
    /// for that connection (one instance reads it).
    public func configurationReadsDue() async throws -> [Int] {
        try await pool.query("""
            INSERT INTO ocpp_local_lists (pile_id, checked_epoch)
            SELECT p.id, p.owner_epoch FROM piles p
            WHERE p.protocol = 'ocpp1.6' AND p.owner_instance IS NOT NULL AND p.booted_at >= p.connected_since
              AND NOT EXISTS (SELECT 1 FROM ocpp_local_lists l WHERE l.pile_id = p.id AND l.checked_epoch = p.owner_epoch)
            ON CONFLICT (pile_id) DO UPDATE SET checked_epoch = EXCLUDED.checked_epoch
            WHERE ocpp_local_lists.checked_epoch IS DISTINCT FROM EXCLUDED.checked_epoch
            RETURNING pile_id
            """).map { try $0.decode("pile_id") }
    }

    public func recordConfiguration(pileID: Int, supported: Bool, enabled: Bool, maxLength: Int?, sendMaxLength: Int?) async throws {
        try await pool.execute("""
            UPDATE ocpp_local_lists SET supported = \(supported), enabled = \(enabled), max_length = \(maxLength)::integer,
                                        send_max_length = \(sendMaxLength)::integer, failure = NULL, syncing_until = NULL
            WHERE pile_id = \(pileID)
            """)
    }

    /// The charger's GetLocalListVersion: a list other than the one we last sent gets a full one.
    public func recordChargerVersion(pileID: Int, version: Int) async throws {
        try await pool.execute("""
            UPDATE ocpp_local_lists
            SET synced_revision = CASE WHEN list_version = \(version) THEN synced_revision END,
                list_version = greatest(list_version, \(version))
            WHERE pile_id = \(pileID)
            """)
    }

    public struct Target: Sendable {
        public var pileID: Int
        public var listVersion: Int
        /// Nil: a full list is due.
        public var syncedRevision: Int64?
        public var syncedExpiryAt: Date?
        public var maxLength: Int?
        public var sendMaxLength: Int?
    }

    /// Piles whose list is behind (a full one due, a tag changed, a tag expired since), connected on the
    /// connection whose configuration says they keep one, and not being synced or resting after a failure:
    /// taken for two minutes (one instance syncs a pile).
    public func syncsDue() async throws -> [Target] {
        try await pool.query("""
            UPDATE ocpp_local_lists l SET syncing_until = now() + interval '2 minutes'
            FROM piles p
            WHERE p.id = l.pile_id AND p.owner_instance IS NOT NULL AND p.owner_epoch = l.checked_epoch AND l.supported AND l.enabled
              AND (l.syncing_until IS NULL OR l.syncing_until < now())
              AND (l.synced_revision IS NULL
                   OR EXISTS (SELECT 1 FROM id_tags t WHERE t.revision > l.synced_revision)
                   OR EXISTS (SELECT 1 FROM id_tags t WHERE t.expires_at > l.synced_expiry_at AND t.expires_at <= now()))
            RETURNING l.pile_id, l.list_version, l.synced_revision, l.synced_expiry_at, l.max_length, l.send_max_length
            """).map {
            Target(pileID: try $0.decode("pile_id"), listVersion: try $0.decode("list_version"), syncedRevision: try $0.decode("synced_revision"),
                   syncedExpiryAt: try $0.decode("synced_expiry_at"), maxLength: try $0.decode("max_length"),
                   sendMaxLength: try $0.decode("send_max_length"))
        }
    }

    public struct Entry: Sendable, Equatable {
        public var idTag: String
        public var blocked: Bool
        public var expiresAt: Date?
        public var parentIdTag: String?
    }

    /// What to send, as of one moment (`revision`, `at`): for a full list the usable tags (not blocked, not
    /// expired), the most recently changed first, at most `limit`; else every tag changed after
    /// `sinceRevision` or expired after `sinceExpiry`, whatever its state.
    public func entries(sinceRevision: Int64?, sinceExpiry: Date?, limit: Int?) async throws
        -> (entries: [Entry], revision: Int64, at: Date) {
        try await pool.withConnection { connection in
            let snapshot = try await connection.query("SELECT coalesce(max(revision), 0)::bigint AS revision, now() AS at FROM id_tags").first!
            let revision: Int64 = try snapshot.decode("revision")
            let at: Date = try snapshot.decode("at")
            let rows = try await connection.query("""
                SELECT id_tag, blocked, expires_at, parent_id_tag FROM id_tags
                WHERE revision <= \(revision) AND CASE
                    WHEN \(sinceRevision)::bigint IS NULL THEN NOT blocked AND (expires_at IS NULL OR expires_at > \(at))
                    ELSE revision > \(sinceRevision)::bigint OR (expires_at > \(sinceExpiry) AND expires_at <= \(at)) END
                ORDER BY revision DESC
                LIMIT \(limit ?? Int(Int32.max))
                """).map {
                Entry(idTag: try $0.decode("id_tag"), blocked: try $0.decode("blocked"), expiresAt: try $0.decode("expires_at"),
                      parentIdTag: try $0.decode("parent_id_tag"))
            }
            return (rows, revision, at)
        }
    }

    /// The charger took the list up to `version`, current as of `revision` and `at`.
    public func synced(pileID: Int, version: Int, revision: Int64, at: Date, tagCount: Int?) async throws {
        try await pool.execute("""
            UPDATE ocpp_local_lists
            SET list_version = \(version), synced_revision = \(revision), synced_expiry_at = \(at),
                tag_count = coalesce(\(tagCount)::integer, tag_count), synced_at = now(), failure = NULL, syncing_until = NULL
            WHERE pile_id = \(pileID)
            """)
    }

    /// A sync that failed: tried again after a minute, with a full list when `fullListDue`; a charger that
    /// answered NotSupported is left alone.
    public func failed(pileID: Int, reason: String, fullListDue: Bool, unsupported: Bool) async throws {
        try await pool.execute("""
            UPDATE ocpp_local_lists
            SET failure = \(reason), syncing_until = now() + interval '1 minute',
                synced_revision = CASE WHEN \(fullListDue) THEN NULL ELSE synced_revision END,
                supported = CASE WHEN \(unsupported) THEN false ELSE supported END
            WHERE pile_id = \(pileID)
            """)
    }

    public struct Status: Sendable {
        public var pileID: Int
        public var supported: Bool?
        public var enabled: Bool?
        public var listVersion: Int
        public var tagCount: Int?
        public var syncedAt: Date?
        public var current: Bool
        public var failure: String?
    }

    /// `ocpp_local_list_status`, by pile.
    public func status() async throws -> [Status] {
        try await pool.query("""
            SELECT pile_id, supported, enabled, list_version, tag_count, synced_at, current, failure FROM ocpp_local_list_status ORDER BY pile_id
            """).map {
            Status(pileID: try $0.decode("pile_id"), supported: try $0.decode("supported"), enabled: try $0.decode("enabled"),
                   listVersion: try $0.decode("list_version"), tagCount: try $0.decode("tag_count"), syncedAt: try $0.decode("synced_at"),
                   current: try $0.decode("current"), failure: try $0.decode("failure"))
        }
    }
}
