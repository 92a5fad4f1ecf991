import ChargingDomain
import ChargingStore
import Foundation
import Hummingbird
import Metrics
import PostgresClient

/// What load balancers, monitoring and API tools read: liveness, readiness, Prometheus metrics, the OpenAPI document.
struct OperationsController {
    let pool: PostgresPool
    /// Who may read `/metrics` (by client address); anyone else gets 404.
    let metricsClients: TrustedNetworks

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/healthz") { _, _ in "ok" }
        router.get("/readyz", use: ready)
        router.get("/metrics", use: metrics)
        router.get("/openapi.yaml", use: openAPIDocument)
    }

    /// The HTTP API's OpenAPI document (`openapi.yaml` at the top of the repository).
    @Sendable func openAPIDocument(_ request: Request, context: AppRequestContext) throws -> Response {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"), let document = try? Data(contentsOf: url) else {
            throw HTTPError(.notFound)
        }
        return Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(bytes: document)))
    }

    /// Ready when the database answers and has every migration this binary knows (a newer
    /// schema is fine: migrations are forward-compatible, so a rolling update keeps going).
    @Sendable func ready(_ request: Request, context: AppRequestContext) async -> Response {
        let migrator = SchemaMigrator()
        let version = try? await migrator.currentVersion(pool)
        let ready = version.map { $0 >= migrator.latestVersion } ?? false
        return Response(status: ready ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: ready ? "ready" : "not ready")))
    }

    @Sendable func metrics(_ request: Request, context: AppRequestContext) async throws -> Response {
        // Behind nginx (a trusted proxy) this is the internet client's address, so the proxy can't expose it.
        guard metricsClients.contains(context.clientAddress) else { throw HTTPError(.notFound) }
        let statistics = pool.statistics
        Gauge(label: "chargepile_pool_connections_open").record(statistics.open)
        Gauge(label: "chargepile_pool_connections_in_use").record(statistics.inUse)
        Gauge(label: "chargepile_pool_waiting").record(statistics.waiting)
        Gauge(label: "chargepile_pool_acquire_wait_seconds_total").record(statistics.totalAcquireWait.inSeconds)
        Gauge(label: "chargepile_pool_acquire_timeouts_total").record(statistics.timeoutCount)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: ServerMetrics.registry.emitToBuffer())))
    }
}
