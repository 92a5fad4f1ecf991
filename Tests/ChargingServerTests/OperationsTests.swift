import Foundation
import HummingbirdTesting
import Testing

@Suite("Health, readiness, metrics and the OpenAPI document")
struct OperationsTests {
    @Test("healthz, readyz and metrics answer; metrics count requests and commands without leaking tokens")
    func endpoints() async throws {
        try await TestServer.run { api in
            let health = try await api.client.execute(uri: "/healthz", method: .get)
            #expect(String(buffer: health.body) == "ok")
            let ready = try await api.client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .ok)
            #expect(String(buffer: ready.body) == "ready")

            let admin = try await api.adminToken()
            _ = try await api.call(.post, "/admin/charge/status/set", query: ["token": admin, "id": "1", "status": "on"])
            let metrics = String(buffer: try await api.client.execute(uri: "/metrics", method: .get).body)
            #expect(metrics.contains(#"chargepile_http_request_duration_seconds_count{method="POST",route="/a/login",status="200"}"#))
            #expect(metrics.contains(#"chargepile_commands_total{outcome="offline"}"#))
            #expect(metrics.contains("chargepile_pool_connections_open"))
            #expect(!metrics.contains(admin))

            // A database without the migrations is not ready.
            try await api.pool.execute("DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)")
            let notReady = try await api.client.execute(uri: "/readyz", method: .get)
            #expect(notReady.status == .serviceUnavailable)
        }
    }

    @Test("the OpenAPI document is served and names every route")
    func openAPI() async throws {
        try await TestServer.run { api in
            let response = try await api.client.execute(uri: "/openapi.yaml", method: .get)
            #expect(response.status == .ok)
            let document = String(buffer: response.body)
            for path in ["/a/login", "/admin/charge/queue", "/admin/charge/status/get", "/admin/charge/status/set", "/p/login",
                         "/u/register", "/user/charge/request", "/user/charge/bills", "/readyz", "/metrics"] {
                #expect(document.contains("\(path):"), "\(path) missing")
            }
        }
    }
}
