import HTTPTypes
import Hummingbird

/// CORS for front-ends served from other origins (the seed's own admin app): a request
/// whose `Origin` is allowed gets `Access-Control-Allow-Origin` (that origin) on its
/// answer, and its preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered
/// here with 204. Other origins get no CORS headers, so browsers keep refusing them.
/// Nothing is allowed unless configured (`serve --cors-origin`, `CHARGEPILE_CORS_ORIGINS`);
/// `*` allows every origin.
struct CORSOriginsMiddleware<Context: RequestContext>: RouterMiddleware {
    let allowedOrigins: Set<String>
    let allowsAny: Bool

    init(origins: [String]) {
        let normalized = origins.map(Self.normalize).filter { !$0.isEmpty }
        allowsAny = normalized.contains("*")
        allowedOrigins = Set(normalized)
    }

    static func normalize(_ origin: String) -> String {
        var text = origin.trimmingCharacters(in: .whitespaces).lowercased()
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !allowedOrigins.isEmpty, let origin = request.headers[.origin],
              allowsAny || allowedOrigins.contains(Self.normalize(origin))
        else { return try await next(request, context) }
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            var headers: HTTPFields = [
                .accessControlAllowOrigin: origin,
                .accessControlAllowMethods: "GET, POST, OPTIONS",
                .accessControlAllowHeaders: request.headers[.accessControlRequestHeaders] ?? "Authorization, Content-Type",
                .accessControlMaxAge: "600",
            ]
            headers.append(HTTPField(name: .vary, value: "Origin"))
            return Response(status: .noContent, headers: headers)
        }
        var response = try await next(request, context)
        response.headers[.accessControlAllowOrigin] = origin
        response.headers.append(HTTPField(name: .vary, value: "Origin"))
        return response
    }
}

extension ServerConfiguration {
    /// The allowed CORS origins of `--cors-origin` flags and `CHARGEPILE_CORS_ORIGINS`
    /// (separated by commas or spaces).
    public static func corsOrigins(flags: [String], environment: [String: String]) -> [String] {
        let fromEnvironment = (environment["CHARGEPILE_CORS_ORIGINS"] ?? "")
            .split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
        return (flags.flatMap { $0.split(separator: ",").map(String.init) } + fromEnvironment)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
