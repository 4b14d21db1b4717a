import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import SCEP
import SCEPOpsCore
import SCEPOpsStore

/// `GET|POST /mdm/scep/proxy/<identifier>?operation=…` (docs/contract.md §4): checks the host,
/// profile, CA and one-time token against the state, then forwards GetCACaps, GetCACert
/// and PKIOperation to the CA and passes its answer back unchanged. Nothing is forwarded
/// for a refused request, and no refusal names the upstream or a secret.
public struct SCEPProxyRoutes<Context: RequestContext>: Sendable {
    public static var path: RouterPath { "/mdm/scep/proxy/{identifier}" }
    /// Request bodies over this are refused (Fleet's limit too).
    public static var maximumBody: Int { 2 * 1024 * 1024 }

    let store: any ProxyStore
    let metrics: ServerMetrics
    /// The SCEP client for a CA; the CA is looked up per request.
    let upstream: @Sendable (ProxyUpstream) -> any SCEPService
    /// What a spent token without a certificate leads to.
    let redelivery: RedeliveryPolicy
    let bodyTimeout: Duration
    let logger: Logger
    let upstreamConcurrency: Int

    /// `upstreamConcurrency`: PKIOperations in flight at once to one CA URL, across every
    /// server on the state.
    public init(
        store: any ProxyStore, metrics: ServerMetrics, upstreamConcurrency: Int = 1,
        redelivery: RedeliveryPolicy = RedeliveryPolicy(), bodyTimeout: Duration = .seconds(30),
        logger: Logger = Logger(label: "scepops.proxy"), upstream: @escaping @Sendable (ProxyUpstream) -> any SCEPService
    ) {
        self.store = store
        self.metrics = metrics
        self.redelivery = redelivery
        self.bodyTimeout = bodyTimeout
        self.logger = logger
        self.upstreamConcurrency = upstreamConcurrency
        let gate = UpstreamGate(limit: upstreamConcurrency)
        self.upstream = { ca in GatedSCEPService(upstream(ca), gate: gate, key: ca.url) }
    }

    public func add(to router: Router<Context>) {
        router.get(Self.path) { request, context in try await handle(request, context: context) }
        router.post(Self.path) { request, context in try await handle(request, context: context) }
    }

    func handle(_ request: Request, context: Context) async throws -> Response {
        guard let identifier = ProxyIdentifier(pathComponent: Self.lastComponent(request.uri.path)) else {
            logger.notice("proxy request refused", metadata: ["reason": "malformed_identifier"])
            throw HTTPError(.badRequest, message: "invalid identifier in URL path")
        }
        // Clients add query parameters of their own (an empty or "0" `message`): only
        // `operation`, and `message` where an operation uses it, are read.
        let query = request.uri.queryParameters  // parsed anew on every use
        guard let operation = query.get("operation") else {
            logger.notice("proxy request refused", metadata: ["reason": "missing_operation", "host": "\(identifier.host)"])
            throw HTTPError(.badRequest, message: "missing operation")
        }
        var body: ByteBuffer?
        if request.method == .post {
            body = try await BoundedBody.collect(request, upTo: Self.maximumBody, timeout: bodyTimeout)
        }

        let ca: ProxyUpstream
        switch try await store.proxyUpstream(identifier) {
        case .success(let found): ca = found
        case .failure(let refusal): throw refused(refusal, identifier)
        }
        let service = upstream(ca)
        let question = SCEPQuestion(operation: operation, message: query.get("message"))
        if let question, let kept = service.kept(question) {
            logProxied(question, identifier)
            return Self.response(kept)
        }
        // The CA's time, when it is asked.
        let started = ContinuousClock.now
        defer { metrics.upstream(identifier.certificateAuthority, took: ContinuousClock.now - started) }
        do {
            if let question {
                let answer = try await service.answer(question)
                logProxied(question, identifier)
                return Self.response(answer)
            }
            switch operation {
            case "PKIOperation":
                let message = try body ?? Self.decodeMessage(query.get("message"))
                switch try await store.consumeToken(identifier, now: Date()) {
                case .success: break
                case .failure(.tokenExpired):
                    try await spent(identifier, reason: "the one-time token expired before the device used it")
                    throw refused(.tokenExpired, identifier)
                case .failure(let refusal):
                    throw refused(refusal, identifier)
                }
                do {
                    // The in-process gate first, then a slot shared with every server on the state.
                    let answer = try await store.withUpstreamSlot(url: ca.url, limit: upstreamConcurrency) {
                        try await service.pkiOperation(message: message)
                    }
                    logger.info(
                        "certificate enrolled through the proxy",
                        metadata: ["host": "\(identifier.host)", "profile": "\(identifier.profile)", "ca": "\(identifier.certificateAuthority)"])
                    return Self.response(answer)
                } catch let error as SCEPUpstreamError {
            metrics.upstreamError(identifier.certificateAuthority, reason: error == .timeout ? "timeout" : "failed")
                    // The token is spent: without a re-delivery the device could never enroll.
                    try await spent(identifier, reason: Self.upstreamReason(error))
                    throw error
                } catch {
                    // No slot came free (or the state failed): nothing went upstream, but the
                    // token is spent all the same.
                    try? await spent(identifier, reason: "no slot for the certificate authority came free in time")
                    throw error
                }
            default:
                logger.notice("proxy request refused", metadata: ["reason": "unknown_operation", "host": "\(identifier.host)"])
                throw HTTPError(.badRequest, message: "operation not implemented")
            }
        } catch let error as SCEPUpstreamError {
            metrics.upstreamError(identifier.certificateAuthority, reason: error == .timeout ? "timeout" : "failed")
            logger.error(
                "certificate authority failed",
                metadata: ["reason": "\(Self.upstreamReason(error))", "operation": "\(operation.prefix(32))", "host": "\(identifier.host)",
                    "profile": "\(identifier.profile)", "ca": "\(identifier.certificateAuthority)"])
            switch error {
            case .timeout: throw HTTPError(.gatewayTimeout, message: "the certificate authority did not answer in time")
            case .failed: throw HTTPError(.badGateway, message: "the certificate authority could not complete the request")
            }
        }
    }

    /// A GET for GetCACaps or GetCACert answered at once, on the connection's own thread
    /// (SCEPProxyFastPath): when the state's lookup admits the request without waiting and
    /// the CA's answer is kept. Nil: the request is handled as every other one, which checks
    /// and answers the same, and refuses what this passed over. `target` is the request's
    /// path and query; only the route's own shape is taken, and any other is turned away
    /// before it is parsed.
    func answerAtOnce(target: String) -> SCEPMessage? {
        guard target.utf8.starts(with: Self.routePrefix.utf8) else { return nil }
        let uri = URI(target)
        guard let component = Self.routeComponent(uri.path), let identifier = ProxyIdentifier(pathComponent: component) else { return nil }
        let query = uri.queryParameters
        guard let operation = query.get("operation"), let question = SCEPQuestion(operation: operation, message: query.get("message")),
            case .success(let ca)? = store.proxyUpstreamAtOnce(identifier), let answer = upstream(ca).kept(question)
        else { return nil }
        logProxied(question, identifier)
        return answer
    }

    private func logProxied(_ question: SCEPQuestion, _ identifier: ProxyIdentifier) {
        logger.debug("proxied", metadata: ["operation": "\(question.operation)", "host": "\(identifier.host)", "ca": "\(identifier.certificateAuthority)"])
    }

    static var routePrefix: String { "/mdm/scep/proxy/" }

    /// The identifier in a path of exactly the route's shape, `/mdm/scep/proxy/<identifier>`.
    static func routeComponent(_ path: String) -> String? {
        guard path.utf8.starts(with: routePrefix.utf8) else { return nil }
        let component = path.utf8.dropFirst(routePrefix.utf8.count)
        guard !component.isEmpty, !component.contains(UInt8(ascii: "/")) else { return nil }
        return String(Substring(component))
    }

    /// Counted and logged, and nothing in the state changes.
    private func refused(_ refusal: ProxyRefusal, _ identifier: ProxyIdentifier) -> HTTPError {
        metrics.proxyRefusal(refusal.reason)
        logger.warning(
            "proxy request refused",
            metadata: ["reason": "\(refusal.reason)", "host": "\(identifier.host)", "profile": "\(identifier.profile)"])
        return Self.httpError(refusal)
    }

    private func spent(_ identifier: ProxyIdentifier, reason: String) async throws {
        // A state that cannot be written is a 503 (StateUnavailableMiddleware), as everywhere.
        switch try await store.tokenSpent(identifier, reason: reason, policy: redelivery, now: Date()) {
        case .redeliver(let notBefore, _):
            metrics.redelivery("queued")
            logger.warning(
                "token spent without a certificate: re-delivering",
                metadata: ["reason": "\(reason)", "host": "\(identifier.host)", "profile": "\(identifier.profile)",
                    "not_before": "\(notBefore.ISO8601Format())"])
        case .fail:
            metrics.redelivery("given_up")
            logger.error(
                "token spent without a certificate: delivery failed",
                metadata: ["reason": "\(reason)", "host": "\(identifier.host)", "profile": "\(identifier.profile)"])
        case nil:
            break
        }
    }

    static func upstreamReason(_ error: SCEPUpstreamError) -> String {
        switch error {
        case .timeout: "the certificate authority did not answer the enrollment in time"
        case .failed: "the certificate authority could not complete the enrollment"
        }
    }

    /// The path's last non-empty component, by its bytes.
    static func lastComponent(_ path: String) -> String {
        let bytes = path.utf8
        var end = bytes.endIndex
        while end > bytes.startIndex, bytes[bytes.index(before: end)] == UInt8(ascii: "/") { end = bytes.index(before: end) }
        let start = bytes[..<end].lastIndex(of: UInt8(ascii: "/")).map(bytes.index(after:)) ?? bytes.startIndex
        return String(path[start..<end])
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
        case .tokenRejected, .tokenExpired: HTTPError(.forbidden, message: "custom scep challenge failed")
        }
    }
}
