import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A SCEP client over HTTP for one CA URL. Connections come from the shared
/// `HTTPClient`'s pools, so a proxy reuses them across requests; with a cache, so are the
/// CA's capabilities and certificate.
public struct SCEPHTTPClient: SCEPService {
    let client: HTTPClient
    let url: String
    let timeout: TimeAmount
    let cache: SCEPAnswerCache?
    /// The CA as the state records it: the cache's entries belong to its URL and certificate.
    let authority: SCEPAnswerCache.Authority
    /// The largest answer taken from upstream.
    let maximumBody: Int
    public static let defaultMaximumBody = 4 * 1024 * 1024

    /// An HTTP client for talking to CAs: `connections` per CA, and connection attempts
    /// retried for 3 s at most, so a CA that refuses is reported in seconds rather than
    /// after the whole request timeout. A redirect is not followed: a CA URL, which a plan
    /// token may name, must not lead the server anywhere else.
    public static func makeHTTPClient(connections: Int = 8) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(1, connections)
        configuration.timeout.connect = .seconds(3)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// `cache`: GetCACaps and GetCACert answers shared by every client made with it, kept
    /// for the CA at `url` whose recorded certificate has `certificateFingerprint`.
    public init(
        client: HTTPClient, url: String, timeout: TimeAmount, maximumBody: Int = defaultMaximumBody,
        cache: SCEPAnswerCache? = nil, certificateFingerprint: String? = nil
    ) {
        self.client = client
        self.url = url
        self.timeout = timeout
        self.maximumBody = maximumBody
        self.cache = cache
        self.authority = SCEPAnswerCache.Authority(url: url, certificateFingerprint: certificateFingerprint)
    }

    public func getCACaps() async throws(SCEPUpstreamError) -> SCEPMessage {
        try await cached(.capabilities) { () async throws(SCEPUpstreamError) in
            try await send(.GET, query: ["operation": "GetCACaps"])
        }
    }

    public func getCACert(message: String?) async throws(SCEPUpstreamError) -> SCEPMessage {
        var query = ["operation": "GetCACert"]
        if let message { query["message"] = message }
        return try await cached(.certificate(message)) { () async throws(SCEPUpstreamError) in
            try await send(.GET, query: query)
        }
    }

    public func kept(_ question: SCEPQuestion) -> SCEPMessage? {
        cache?.kept(question, for: authority)
    }

    public func pkiOperation(message: ByteBuffer) async throws(SCEPUpstreamError) -> SCEPMessage {
        do {
            // POST when the CA says it takes it (RFC 8894 §3.5.1), else base64 in a GET.
            let caps = String(buffer: try await getCACaps().body)
            if caps.contains("POSTPKIOperation") || caps.contains("SCEPStandard") {
                return try await send(.POST, query: ["operation": "PKIOperation"], body: message)
            }
            let encoded = Data(message.readableBytesView).base64EncodedString()
            return try await send(.GET, query: ["operation": "PKIOperation", "message": encoded])
        } catch {
            // The CA may have changed under its URL: the next device asks it afresh.
            cache?.forget(authority)
            throw error
        }
    }

    private func cached(
        _ question: SCEPQuestion, _ fetch: () async throws(SCEPUpstreamError) -> SCEPMessage
    ) async throws(SCEPUpstreamError) -> SCEPMessage {
        guard let cache else { return try await fetch() }
        return try await cache.answer(question, for: authority, fetch: fetch)
    }

    private func send(_ method: HTTPMethod, query: [String: String], body: ByteBuffer? = nil)
        async throws(SCEPUpstreamError) -> SCEPMessage
    {
        var request = HTTPClientRequest(url: Self.url(url, query))
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/x-pki-message")
            request.body = .bytes(body)
        }
        do {
            let response = try await client.execute(request, timeout: timeout)
            guard (200..<300).contains(response.status.code) else {
                throw SCEPUpstreamError.failed("the CA answered HTTP \(response.status.code)")
            }
            let answer = try await response.body.collect(upTo: maximumBody)
            return SCEPMessage(contentType: response.headers.first(name: "Content-Type"), body: answer)
        } catch let error as SCEPUpstreamError {
            throw error
        } catch is NIOTooManyBytesError {
            throw .failed("the CA's answer is over \(maximumBody) bytes")
        } catch let error as HTTPClientError
            where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout
        {
            throw .timeout
        } catch {
            throw .failed(Self.describe(error))
        }
    }

    /// What went wrong, in words that hold no URL.
    static func describe(_ error: Error) -> String {
        let text = String(describing: error)
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        if text.contains("NXDOMAIN") || text.contains("resolve") { return "the host name does not resolve" }
        if text.contains("remoteConnectionClosed") || text.contains("connectionReset") { return "the CA closed the connection" }
        return "the connection to the CA failed"
    }

    /// The CA URL with SCEP's query parameters added to any it already has.
    static func url(_ base: String, _ query: [String: String]) -> String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "+&=/")
        let pairs = query.sorted { $0.key < $1.key }.map { key, value in
            "\(key)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)"
        }
        return base + (base.contains("?") ? "&" : "?") + pairs.joined(separator: "&")
    }
}
