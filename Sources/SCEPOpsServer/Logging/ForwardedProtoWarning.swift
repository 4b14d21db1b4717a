import HTTPTypes
import Hummingbird
import Logging

/// Behind a TLS-terminating proxy without `--server-url`, delivered profiles would name this
/// server's plain http address. The first request that says it came over https
/// (`X-Forwarded-Proto`) gets one warning; nothing else changes.
struct ForwardedProtoWarning<Context: RequestContext>: RouterMiddleware {
    let logger: Logger
    let once = OnceFlag()

    static var header: HTTPField.Name { HTTPField.Name("X-Forwarded-Proto")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        notice(forwardedProto: request.headers[Self.header])
        return try await next(request, context)
    }

    /// Also for the requests answered before the middleware (`SCEPProxyFastPath`).
    func notice(forwardedProto: String?) {
        if forwardedProto?.lowercased() == "https", once.claim() {
            logger.warning(
                "requests arrive through a TLS proxy (X-Forwarded-Proto: https) but --server-url is not set: delivered profiles would name http:// URLs; set --server-url to the public https URL")
        }
    }
}
