import ChargingDomain
import Foundation
import Hummingbird
import Logging

/// One log line and one latency sample per request: id, method, route, status, latency. Never the query string
/// or body, where tokens and passwords travel.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var context = context
        context.logger[metadataKey: "request"] = "\(context.id)"
        do {
            let response = try await next(request, context)
            log(request, context, status: response.status.code, start: start)
            return response
        } catch let error as HTTPError {
            log(request, context, status: error.status.code, start: start)
            throw error
        }
    }

    private func log(_ request: Request, _ context: Context, status: Int, start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        // The matched route, not the raw path: unknown paths must not grow the metric's label set.
        ServerMetrics.recordRequest(method: request.method.rawValue, route: context.endpointPath ?? "unmatched", status: status,
                                    duration: elapsed)
                context.logger.info("request", metadata: [
            "method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(status)",
            "ms": "\(String(format: "%.2f", elapsed.inMilliseconds))",
        ])
    }
}
