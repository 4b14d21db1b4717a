/// What a reviewer needs to know of a CA's certificate: who it is, which one exactly,
/// and until when.
public struct CACertificateSummary: Sendable, Hashable, Codable {
    public var subject: String
    /// SHA-256 of the DER, hex.
    public var fingerprint: String
    /// ISO 8601.
    public var notAfter: String

    public init(subject: String, fingerprint: String, notAfter: String) {
        self.subject = subject
        self.fingerprint = fingerprint
        self.notAfter = notAfter
    }
}

/// A CA certificate as GetCACert returned it.
public struct CACertificate: Sendable, Hashable {
    public var der: [UInt8]
    public var summary: CACertificateSummary

    public init(der: [UInt8], summary: CACertificateSummary) {
        self.der = der
        self.summary = summary
    }
}
