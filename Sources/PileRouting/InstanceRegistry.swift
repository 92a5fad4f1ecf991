import ChargingDomain
import ChargingStore
import Foundation
import PostgresClient

/// Running instances heartbeat into `instances`; survivors mark the piles of one whose
/// heartbeat stopped offline and expire its pending commands.
public struct InstanceRegistry: Sendable {
    let pool: PostgresPool
    public let instance: UUID

    public init(pool: PostgresPool, instance: UUID) {
        self.pool = pool
        self.instance = instance
    }

    public func register(address: String) async throws {
        try await pool.execute("""
            INSERT INTO instances (id, address) VALUES (\(instance), \(address))
            ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), address = EXCLUDED.address
            """)
    }

    /// False when survivors already took this instance for dead: its piles were marked
    /// offline, so its sockets must be closed (the piles reconnect) and it registers again.
    public func heartbeat() async throws -> Bool {
        try await pool.execute("UPDATE instances SET heartbeat_at = now() WHERE id = \(instance)") == 1
    }

    /// Forgets instances silent for longer than `expiry` (and, on a graceful stop, this
    /// one): their piles go offline. Returns what that did to the piles. An instance that sweeps is
    /// alive: it never reaps itself, and its sweep counts as a heartbeat, so a heartbeat loop
    /// starved on a busy machine doesn't get the instance taken for dead by its own sweep.
    @discardableResult
    public func reap(expiry: Duration, includingSelf: Bool = false) async throws -> [PileStateChange] {
        let seconds = expiry.inSeconds
        return try await pool.withTransaction { connection in
            if !includingSelf {
                try await connection.execute("UPDATE instances SET heartbeat_at = now() WHERE id = \(instance)")
            }
            let dead = try await connection.query("""
                DELETE FROM instances
                WHERE (heartbeat_at < now() - make_interval(secs => \(seconds)) AND id <> \(instance)) OR (\(includingSelf) AND id = \(instance))
                RETURNING id
                """).map { try $0.decode("id", as: UUID.self) }
            guard !dead.isEmpty else { return [] }
            let ids = "{" + dead.map { $0.uuidString }.joined(separator: ",") + "}"
            try await connection.execute("""
                UPDATE pile_commands SET state = 'expired', finished_at = now(), error = 'owner instance stopped'
                WHERE state = 'pending' AND owner_instance = ANY(\(ids)::uuid[])
                """)
            return try await PileStateStore.dropOwners(dead, on: connection)
        }
    }
}
