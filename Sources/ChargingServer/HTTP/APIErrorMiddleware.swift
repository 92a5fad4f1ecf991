import Hummingbird
import NIOCore
import Logging
import PostgresClient

/// Turns every failure of a matched route into the `code -1` envelope, so no client
/// input and no database outage ever surfaces as a crash or a bare 500.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return try APIResponse.failure(error).response(from: request, context: context)
        } catch is PasswordHasher.Busy {
            return try APIResponse.failure(.busy).response(from: request, context: context)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            return try APIResponse.failure(.bodyTooLarge).response(from: request, context: context)
        } catch is NIOTooManyBytesError {
            return try APIResponse.failure(.bodyTooLarge).response(from: request, context: context)
        } catch let error as HTTPError {
            throw error
        } catch {
            // PostgresError.description is redacted: no bound values, no detail.
            context.logger.error("request failed", metadata: ["error": "\(error)"])
            return try APIResponse.failure(.unavailable).response(from: request, context: context)
        }
    }
}
