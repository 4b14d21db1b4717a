/// Why an enrollment did not give a certificate. `reason` is a short stable word for
/// summaries (a simulator counts failures by it); `description` says more.
public enum SCEPClientError: Error, Sendable, Hashable, CustomStringConvertible {
    case upstream(SCEPUpstreamError)
    /// GetCACert gave nothing usable.
    case caCertificate(String)
    /// CertRep FAILURE with its failInfo (badAlg, badMessageCheck, badRequest, badTime, badCertId).
    case failure(failInfo: String)
    /// CertRep PENDING: the CA wants a manual approval.
    case pending
    /// A CertRep that does not answer this request, or is not one.
    case badReply(String)
    case codec(String)

    public var reason: String {
        switch self {
        case .upstream(.timeout): "upstream-timeout"
        case .upstream(.failed): "upstream-failed"
        case .caCertificate: "ca-certificate"
        case .failure(let info): "failure-\(info)"
        case .pending: "pending"
        case .badReply: "bad-reply"
        case .codec: "codec"
        }
    }

    public var description: String {
        switch self {
        case .upstream(.timeout): "the SCEP server did not answer in time"
        case .upstream(.failed(let why)): "the SCEP server failed: \(why)"
        case .caCertificate(let why): "GetCACert: \(why)"
        case .failure(let info): "the CA refused the request (failInfo \(info))"
        case .pending: "the CA left the request pending"
        case .badReply(let why): "the CertRep is not usable: \(why)"
        case .codec(let why): "SCEP message: \(why)"
        }
    }
}
