import Foundation
import PostgresClient

/// Routing's part in a pile's change of socket: the instance that held the pile before is told, in the
/// claiming transaction, to close its older socket (the claim itself is `PileStateStore.claim`).
public enum PileOwnership {
    public static func tellReplaced(_ previousOwner: UUID, pileID: Int, epoch: Int64, on connection: PostgresConnection) async throws {
        try await notify(previousOwner, .replaced(pileID: pileID, epoch: epoch), on: connection)
    }
}

func notify(_ instance: UUID, _ message: RoutingMessage, on connection: PostgresConnection) async throws {
    _ = try await connection.query("SELECT pg_notify(\(instanceChannel(instance)), \(message.payload))")
}
