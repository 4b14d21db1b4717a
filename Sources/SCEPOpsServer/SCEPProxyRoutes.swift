import Foundation
import Hummingbird
import NIOCore
import SCEP
import SCEPOpsCore
import SCEPOpsStore

/// `GET|POST /mdm/scep/proxy/<identifier>?operation=…` (SPEC §4): checks the host,
/// profile, CA and one-time token against the state, then forwards GetCACaps, GetCACert
/// and PKIOperation to the CA and passes its answer back unchanged. Nothing is forwarded
/// for a refused request, and no refusal names the upstream or a secret.
public struct SCEPProxyRoutes<Context: RequestContext>: Sendable {
    public static var path: RouterPath { "/mdm/scep/proxy/{identifier}" }
    /// Request bodies over this are refused (Fleet's limit too).
    public static var maximumBody: Int { 2 * 1024 * 1024 }

    let store: any ProxyStore
    let metrics: ServerMetrics
    /// The SCEP client for a CA URL; the URL is looked up per request.
    let upstream: @Sendable (String) -> any SCEPService

    /// `upstreamConcurrency`: PKIOperations in flight at once to one CA URL.
    public init(
        store: any ProxyStore, metrics: ServerMetrics, upstreamConcurrency: Int = 1,
        upstream: @escaping @Sendable (String) -> any SCEPService
    ) {
        self.store = store
        self.metrics = metrics
        let gate = UpstreamGate(limit: upstreamConcurrency)
        self.upstream = { url in GatedSCEPService(upstream(url), gate: gate, key: url) }
    }

    public func add(to router: Router<Context>) {
        router.get(Self.path) { request, context in try await handle(request, context: context) }
        router.post(Self.path) { request, context in try await handle(request, context: context) }
    }

    func handle(_ request: Request, context: Context) async throws -> Response {
        let raw = request.uri.path.split(separator: "/").last.map(String.init) ?? ""
        guard let identifier = ProxyIdentifier(pathComponent: raw) else {
            throw HTTPError(.badRequest, message: "invalid identifier in URL path")
        }
        // Clients add query parameters of their own (an empty or "0" `message`): only
        // `operation`, and `message` where an operation uses it, are read.
        guard let operation = request.uri.queryParameters.get("operation") else {
            throw HTTPError(.badRequest, message: "missing operation")
        }
        var body: ByteBuffer?
        if request.method == .post {
            do {
                var request = request
                body = try await request.collectBody(upTo: Self.maximumBody)
            } catch {
                throw HTTPError(.contentTooLarge, message: "the request body is over \(Self.maximumBody) bytes")
            }
        }

        let url: String
        switch try route(identifier) {
        case .success(let found): url = found
        case .failure(let refusal): throw Self.httpError(refusal)
        }
        let service = upstream(url)
        let started = ContinuousClock.now
        defer { metrics.upstreamLatency.record(ContinuousClock.now - started) }
        do {
            switch operation {
            case "GetCACaps":
                return Self.response(try await service.getCACaps())
            case "GetCACert":
                return Self.response(try await service.getCACert(message: request.uri.queryParameters.get("message")))
            case "PKIOperation":
                let message = try body ?? Self.decodeMessage(request.uri.queryParameters.get("message"))
                if case .failure(let refusal) = try store.consumeToken(identifier, now: Date()) {
                    throw Self.httpError(refusal)
                }
                return Self.response(try await service.pkiOperation(message: message))
            default:
                throw HTTPError(.badRequest, message: "operation not implemented")
            }
        } catch SCEPUpstreamError.timeout {
            throw HTTPError(.gatewayTimeout, message: "the certificate authority did not answer in time")
        } catch SCEPUpstreamError.failed {
            throw HTTPError(.badGateway, message: "the certificate authority could not complete the request")
        }
    }

    private func route(_ identifier: ProxyIdentifier) throws -> Result<String, ProxyRefusal> {
        do {
            return try store.proxyUpstream(identifier)
        } catch {
            throw HTTPError(.serviceUnavailable, message: "the state is not available")
        }
    }

    /// A GET PKIOperation carries the message base64-encoded (and maybe URL-escaped).
    static func decodeMessage(_ text: String?) throws -> ByteBuffer {
        guard let text, !text.isEmpty else { throw HTTPError(.badRequest, message: "missing message") }
        let unescaped = (text.removingPercentEncoding ?? text).replacingOccurrences(of: " ", with: "+")
        guard let data = Data(base64Encoded: unescaped) else {
            throw HTTPError(.badRequest, message: "the message is not base64")
        }
        return ByteBuffer(bytes: data)
    }

    static func response(_ message: SCEPMessage) -> Response {
        var headers = HTTPFields()
        if let type = message.contentType { headers[.contentType] = type }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: message.body))
    }

    static func httpError(_ refusal: ProxyRefusal) -> HTTPError {
        switch refusal {
        case .unknownIdentifier: HTTPError(.notFound, message: "unknown identifier in URL path")
        case .notInFlight: HTTPError(.forbidden, message: "the profile is not being delivered to this host")
        case .tokenRejected: HTTPError(.forbidden, message: "custom scep challenge failed")
        }
    }
}
