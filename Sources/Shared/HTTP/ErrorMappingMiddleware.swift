import Hummingbird
import Logging
import PostgresNIO

/// Turns every error that is not already an HTTP response into the spec's JSON error, once, at
/// the boundary: an unreachable database is 503 `temporarily_unavailable`; anything else is a bare
/// `server_error` whose detail goes to the log, never to the client. An `OAuthError` is logged
/// with its private `debug` field and rendered by itself.
public struct ErrorMappingMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as OAuthError {
            if error.status.code >= 500 {
                context.logger.error("request failed", metadata: ["error": "\(error)"])
            } else if let debug = error.debug {
                context.logger.debug("request refused", metadata: ["error": "\(error.code)", "debug": "\(debug)"])
            }
            throw error
        } catch let error as any HTTPResponseError {
            throw error
        } catch is DatabaseTimeoutError {
            context.logger.error("database timeout")
            throw OAuthError.temporarilyUnavailable(debug: "database timeout")
        } catch let error as PSQLError {
            context.logger.error("database error", metadata: ["error": "\(String(reflecting: error))"])
            throw OAuthError.temporarilyUnavailable(debug: "database error")
        } catch is CancellationError {
            throw OAuthError.temporarilyUnavailable(debug: "cancelled")
        } catch {
            context.logger.error("unexpected error", metadata: ["error": "\(String(reflecting: error))"])
            throw OAuthError.serverError(debug: String(reflecting: error))
        }
    }
}
