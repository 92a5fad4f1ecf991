import Foundation
import PostgresClient

/// Firmware updates and diagnostics uploads over many OCPP chargers (`ocpp_operations`, migration 0011):
/// created by an operator, advanced by every instance's operations service, and followed through the
/// chargers' status notifications (`OCPPStore.recordStatusReport`).
public struct OCPPOperationStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    public enum Kind: String, Sendable, CaseIterable {
        case firmware, diagnostics
    }

    public enum PileState: String, Sendable, CaseIterable {
        case waiting, sending, running, done, failed
    }

    public struct Request: Sendable {
        public var kind: Kind
        public var location: String
        public var retrieveAt: Date?
        public var retries: Int?
        public var retryInterval: Int?
        public var maxConcurrent: Int
        public var statusTimeoutSeconds: Int

        public init(kind: Kind, location: String, retrieveAt: Date? = nil, retries: Int? = nil, retryInterval: Int? = nil,
                    maxConcurrent: Int, statusTimeoutSeconds: Int) {
            self.kind = kind
            self.location = location
            self.retrieveAt = retrieveAt
            self.retries = retries
            self.retryInterval = retryInterval
            self.maxConcurrent = maxConcurrent
            self.statusTimeoutSeconds = statusTimeoutSeconds
        }

        /// The first field out of range (named as the HTTP parameter), or nil. The CLI and the admin API share it.
        public var invalidField: String? {
            // OCPP's location is a URI; the security extension allows 512 characters.
            if location.isEmpty || location.unicodeScalars.count > 512 || location.unicodeScalars.contains(where: { $0.value < 0x20 })
                || URL(string: location)?.scheme == nil { return "location" }
            if let retries, !(0...1000).contains(retries) { return "retries" }
            if let retryInterval, !(0...86_400).contains(retryInterval) { return "retry_interval" }
            if !(1...10_000).contains(maxConcurrent) { return "max_concurrent" }
            if !(1...86_400).contains(statusTimeoutSeconds) { return "status_timeout" }
            return nil
        }
    }

    public static let defaultMaxConcurrent = 10
    public static let defaultStatusTimeoutSeconds = 600

    public enum CreateError: Error, Equatable, Sendable {
        /// These piles do not exist, or do not speak OCPP.
        case notOCPP([Int])
        case noPiles
    }

    /// Creates an operation over `pileIDs`, or over every OCPP pile of `stationID`; the piles it covers.
    public func create(_ request: Request, pileIDs: [Int]?, stationID: Int?) async throws -> (id: Int64, pileIDs: [Int]) {
        try await pool.withTransaction { connection in
            let ocppPiles: [Int] = try await connection.query("""
                SELECT id FROM piles
                WHERE protocol = 'ocpp1.6' AND (id = ANY(\(Self.arrayLiteral(pileIDs ?? []))::integer[]) OR station_id = \(stationID)::integer)
                ORDER BY id
                """).map { try $0.decode("id") }
            if let pileIDs {
                let missing = Set(pileIDs).subtracting(ocppPiles).sorted()
                guard missing.isEmpty else { throw CreateError.notOCPP(missing) }
            }
            guard !ocppPiles.isEmpty else { throw CreateError.noPiles }
            let id: Int64 = try await connection.query("""
                INSERT INTO ocpp_operations (kind, location, retrieve_at, retries, retry_interval, max_concurrent, status_timeout_seconds)
                VALUES (\(request.kind.rawValue), \(request.location), \(request.retrieveAt), \(request.retries)::integer,
                        \(request.retryInterval)::integer, \(request.maxConcurrent), \(request.statusTimeoutSeconds))
                RETURNING id
                """).first!.decode("id")
            try await connection.execute("""
                INSERT INTO ocpp_operation_piles (operation_id, pile_id) SELECT \(id), unnest(\(Self.arrayLiteral(ocppPiles))::integer[])
                """)
            return (id, ocppPiles)
        }
    }

    /// A PostgreSQL array literal of integers, bound as one text parameter.
    private static func arrayLiteral(_ values: [Int]) -> String {
        "{" + values.map(String.init).joined(separator: ",") + "}"
    }

    /// What a pile is to be sent.
    public struct Assignment: Sendable {
        public var operationID: Int64
        public var pileID: Int
        public var kind: Kind
        public var location: String
        public var retrieveAt: Date?
        public var retries: Int?
        public var retryInterval: Int?
    }

    /// The operations with piles still waiting.
    public func operationsWaiting() async throws -> [Int64] {
        try await pool.query("""
            SELECT DISTINCT operation_id FROM ocpp_operation_piles WHERE state IN ('waiting', 'sending') ORDER BY operation_id
            """).map { try $0.decode("operation_id") }
    }

    /// Takes the next piles of an operation to send it to: connected ones, as many as its limit leaves free
    /// (sending and running piles count), none busy with another operation of the same kind. A pile left
    /// `sending` for two minutes (its instance died while sending) is sent again. The operation's row lock
    /// makes instances take turns, so the limit holds across them. At most `atMost` at once: each send holds
    /// a command row and its wait, and thousands at once would queue on the database pool.
    public func claim(operationID: Int64, atMost: Int) async throws -> [Assignment] {
        try await pool.withTransaction { connection in
            guard let operation = try await connection.query("""
                SELECT kind, location, retrieve_at, retries, retry_interval, max_concurrent FROM ocpp_operations
                WHERE id = \(operationID) FOR UPDATE
                """).first
            else { return [] }
            try await connection.execute("""
                UPDATE ocpp_operation_piles SET state = 'waiting', state_since = now()
                WHERE operation_id = \(operationID) AND state = 'sending' AND state_since < now() - interval '2 minutes'
                """)
            let kind = Kind(rawValue: try operation.decode("kind")) ?? .firmware
            let free = min(atMost, try operation.decode("max_concurrent", as: Int.self) - (try await connection.query("""
                SELECT count(*)::integer AS busy FROM ocpp_operation_piles WHERE operation_id = \(operationID) AND state IN ('sending', 'running')
                """).first!.decode("busy", as: Int.self)))
            guard free > 0 else { return [] }
            let pileIDs: [Int] = try await connection.query("""
                UPDATE ocpp_operation_piles o SET state = 'sending', state_since = now()
                WHERE o.operation_id = \(operationID) AND o.pile_id IN (
                    SELECT w.pile_id FROM ocpp_operation_piles w JOIN piles p ON p.id = w.pile_id
                    WHERE w.operation_id = \(operationID) AND w.state = 'waiting' AND p.owner_instance IS NOT NULL
                      AND NOT EXISTS (SELECT 1 FROM ocpp_operation_piles b JOIN ocpp_operations k ON k.id = b.operation_id
                                      WHERE b.pile_id = w.pile_id AND b.state IN ('sending', 'running') AND k.kind = \(kind.rawValue))
                    ORDER BY w.pile_id LIMIT \(free))
                RETURNING o.pile_id
                """).map { try $0.decode("pile_id") }
            return try pileIDs.map { pileID in
                Assignment(operationID: operationID, pileID: pileID, kind: kind, location: try operation.decode("location"),
                           retrieveAt: try operation.decode("retrieve_at"), retries: try operation.decode("retries"),
                           retryInterval: try operation.decode("retry_interval"))
            }
        }
    }

    /// What became of sending a pile its call: `running`, `done` (nothing to do), `failed`, or `waiting` again (offline).
    /// A charger's status report that came before (`recordStatusReport`) has moved the pile on already: its state stays.
    public func sent(operationID: Int64, pileID: Int, state: PileState, answer: String?, error: String?) async throws {
        try await pool.execute("""
            UPDATE ocpp_operation_piles
            SET state = CASE WHEN state = 'sending' THEN \(state.rawValue) ELSE state END,
                state_since = CASE WHEN state = 'sending' THEN now() ELSE state_since END,
                error = CASE WHEN state = 'sending' THEN \(error) ELSE error END,
                answer = \(answer)::jsonb,
                sent_at = CASE WHEN \(state.rawValue) IN ('running', 'done') THEN coalesce(sent_at, now()) ELSE sent_at END
            WHERE operation_id = \(operationID) AND pile_id = \(pileID)
              AND (state = 'sending' OR (state IN ('running', 'done', 'failed') AND answer IS NULL AND \(state.rawValue) <> 'waiting'))
            """)
    }

    /// Running piles whose status has not come for their operation's timeout (counted from the later of
    /// their last report, the call, and the firmware's retrieve time), and not asked lately: marked asked
    /// now (one instance asks), to be sent a TriggerMessage.
    public func silentPiles(atMost: Int) async throws -> [(pileID: Int, kind: Kind)] {
        try await pool.query("""
            UPDATE ocpp_operation_piles o SET triggered_at = now()
            FROM ocpp_operations k
            WHERE k.id = o.operation_id AND (o.operation_id, o.pile_id) IN (
                SELECT s.operation_id, s.pile_id FROM ocpp_operation_piles s JOIN ocpp_operations j ON j.id = s.operation_id
                WHERE s.state = 'running'
                  AND greatest(s.status_at, s.sent_at, j.retrieve_at, s.triggered_at) < now() - make_interval(secs => j.status_timeout_seconds)
                ORDER BY s.operation_id, s.pile_id LIMIT \(atMost)
                FOR UPDATE OF s SKIP LOCKED)
            RETURNING o.pile_id, k.kind
            """).map { (try $0.decode("pile_id"), Kind(rawValue: try $0.decode("kind")) ?? .firmware) }
    }

    public struct Progress: Sendable {
        public var operationID: Int64
        public var kind: String
        public var location: String
        public var pileID: Int
        public var state: String
        public var stateSince: Date
        public var sentAt: Date?
        public var status: String?
        public var statusAt: Date?
        public var triggeredAt: Date?
        public var error: String?
    }

    /// Per pile, the operation `operationID`, or the latest one (of `kind`, when given).
    public func progress(operationID: Int64?, kind: Kind?) async throws -> [Progress] {
        try await pool.query("""
            SELECT operation_id, kind, location, pile_id, state, state_since, sent_at, status, status_at, triggered_at, error
            FROM ocpp_operation_progress
            WHERE operation_id = coalesce(\(operationID)::bigint,
                                          (SELECT max(id) FROM ocpp_operations WHERE kind = coalesce(\(kind?.rawValue)::text, kind)))
            ORDER BY pile_id
            """).map {
            Progress(operationID: try $0.decode("operation_id"), kind: try $0.decode("kind"), location: try $0.decode("location"),
                     pileID: try $0.decode("pile_id"), state: try $0.decode("state"), stateSince: try $0.decode("state_since"),
                     sentAt: try $0.decode("sent_at"), status: try $0.decode("status"), statusAt: try $0.decode("status_at"),
                     triggeredAt: try $0.decode("triggered_at"), error: try $0.decode("error"))
        }
    }
}
