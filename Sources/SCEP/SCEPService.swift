import NIOCore

/// The SCEP protocol's operations (RFC 8894), nothing more: the upstream client
/// implements them, and the proxy is a server handler in front of that client.
public protocol SCEPService: Sendable {
    func getCACaps() async throws(SCEPUpstreamError) -> SCEPMessage
    func getCACert(message: String?) async throws(SCEPUpstreamError) -> SCEPMessage
    /// `message` is the DER PKCS#7 of the request, decoded from a GET or a POST body.
    func pkiOperation(message: ByteBuffer) async throws(SCEPUpstreamError) -> SCEPMessage
    /// The answer to `question` when it is at hand without asking the CA (kept a while);
    /// nil when only asking would tell.
    func kept(_ question: SCEPQuestion) -> SCEPMessage?
}

extension SCEPService {
    public func kept(_ question: SCEPQuestion) -> SCEPMessage? { nil }

    /// `question` asked of the CA (or answered from what is kept).
    public func answer(_ question: SCEPQuestion) async throws(SCEPUpstreamError) -> SCEPMessage {
        switch question {
        case .capabilities: try await getCACaps()
        case .certificate(let message): try await getCACert(message: message)
        }
    }
}

/// An answer as the upstream gave it: passed on to the device unchanged.
public struct SCEPMessage: Sendable {
    public var contentType: String?
    public var body: ByteBuffer

    public init(contentType: String?, body: ByteBuffer) {
        self.contentType = contentType
        self.body = body
    }
}

/// Why the upstream gave no usable answer. The messages name no URL.
public enum SCEPUpstreamError: Error, Sendable, Hashable {
    case timeout
    /// Refused, reset, unresolvable, or an HTTP error status.
    case failed(String)
}
