import ChargingDomain
import Metrics
import Prometheus

/// The process's Prometheus registry behind swift-metrics, bootstrapped once per process
/// (tests build several applications in one process; they share it).
enum ServerMetrics {
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()

    static func recordRequest(method: String, route: String, status: Int, duration: Duration) {
        _ = registry
        Timer(label: "chargepile_http_request_duration_seconds",
              dimensions: [("method", method), ("route", route), ("status", String(status))])
            .recordNanoseconds(duration.inNanoseconds)
    }

    static func recordCommand(outcome: String, duration: Duration) {
        _ = registry
        Counter(label: "chargepile_commands_total", dimensions: [("outcome", outcome)]).increment()
        Timer(label: "chargepile_command_duration_seconds").recordNanoseconds(duration.inNanoseconds)
    }

    static func setConnectedPiles(_ count: Int) {
        _ = registry
        Gauge(label: "chargepile_connected_piles").record(count)
    }

    /// Logins (and logouts, registrations) by role and outcome.
    static func recordAuth(event: String, role: String, outcome: String) {
        _ = registry
        Counter(label: "chargepile_auth_events_total", dimensions: [("event", event), ("role", role), ("outcome", outcome)]).increment()
    }

    static func listenerReconnected() {
        _ = registry
        Counter(label: "chargepile_listener_reconnects_total").increment()
    }
}
