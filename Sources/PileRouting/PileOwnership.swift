import Foundation
import PostgresClient

/// Routing's part in a pile's change of socket: the instance that held the pile before is told, in the
/// claiming transaction, to close its older socket (the claim itself is `PileStateStore`'s).
public enum PileOwnership {
    /// The SQL expression a claim evaluates for each pile it took (`previous_owner`, `id`, `owner_epoch`):
    /// `RoutingMessage.replaced` on `instanceChannel(previous_owner)`, spelled in SQL because the claim
    /// finds the owner only there (`PileSessionTests.replaced` and `ClusterTests` hold the two together).
    public static let replacedNotice = """
        pg_notify('chargepile_' || replace(previous_owner::text, '-', ''), 'replaced:' || id || ':' || owner_epoch)
        """
}

func notify(_ instance: UUID, _ message: RoutingMessage, on connection: PostgresConnection) async throws {
    _ = try await connection.query("SELECT pg_notify(\(instanceChannel(instance)), \(message.payload))")
}
