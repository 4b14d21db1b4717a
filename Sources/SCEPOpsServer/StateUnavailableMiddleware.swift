import HTTPTypes
import Hummingbird
import SCEPOpsStore

/// A state that is busy (another process holds its write lock) or unreachable is a 503
/// with Retry-After on every route, never a 500: devices and SCEP clients retry a 503.
struct StateUnavailableMiddleware<Context: RequestContext>: RouterMiddleware {
    static var retryAfterSeconds: Int { 5 }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as StoreError {
            context.logger.warning("the state is not available", metadata: ["error": "\(error.code.rawValue)"])
            throw HTTPError(
                .serviceUnavailable, headers: [.retryAfter: String(Self.retryAfterSeconds)],
                message: error.code == .busy ? "the state is busy; try again shortly" : "the state is not available")
        }
    }
}
