/// What every device asks a CA before it enrolls, and whose answer can be kept a while
/// (SCEPAnswerCache): the CA's capabilities, and its certificate.
public enum SCEPQuestion: Sendable, Hashable {
    /// GetCACaps.
    case capabilities
    /// GetCACert, with its optional `message` (a CA identifier).
    case certificate(String?)

    /// The question a request's `operation` asks; nil for PKIOperation and anything else.
    /// `message` is read only for GetCACert, where it means something.
    public init?(operation: String, message: @autoclosure () -> String?) {
        switch operation {
        case "GetCACaps": self = .capabilities
        case "GetCACert": self = .certificate(message())
        default: return nil
        }
    }

    /// As SCEP names it.
    public var operation: String {
        switch self {
        case .capabilities: "GetCACaps"
        case .certificate: "GetCACert"
        }
    }
}
