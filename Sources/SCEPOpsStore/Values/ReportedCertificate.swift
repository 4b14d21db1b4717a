/// A certificate from a host's CertificateList answer, read by the server.
public struct ReportedCertificate: Sendable, Hashable {
    public var subject: String
    /// SHA-256 of the DER, hex.
    public var fingerprint: String
    /// ISO 8601.
    public var notAfter: String
    public var isIdentity: Bool

    public init(subject: String, fingerprint: String, notAfter: String, isIdentity: Bool) {
        self.subject = subject
        self.fingerprint = fingerprint
        self.notAfter = notAfter
        self.isIdentity = isIdentity
    }
}
