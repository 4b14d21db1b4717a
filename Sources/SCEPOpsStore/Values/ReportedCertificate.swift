import Foundation
import SCEPOpsCore

/// A certificate from a host's CertificateList answer, read by the server.
public struct ReportedCertificate: Sendable, Hashable {
    public var subject: String
    /// SHA-256 of the DER, hex.
    public var fingerprint: String
    /// ISO 8601.
    public var notAfter: String
    public var isIdentity: Bool
    /// Hex; ISO 8601. Nil only for a certificate read before renewal knew them.
    public var serial: String?
    public var notBefore: String?

    public init(subject: String, fingerprint: String, notAfter: String, isIdentity: Bool, serial: String? = nil, notBefore: String? = nil) {
        self.subject = subject
        self.fingerprint = fingerprint
        self.notAfter = notAfter
        self.isIdentity = isIdentity
        self.serial = serial
        self.notBefore = notBefore
    }

    public init(_ held: HeldCertificate, isIdentity: Bool) {
        self.init(
            subject: held.subject, fingerprint: held.fingerprint, notAfter: held.notAfter.ISO8601Format(), isIdentity: isIdentity,
            serial: held.serial, notBefore: held.notBefore.ISO8601Format())
    }

    /// As renewal reads it; nil without a serial and both dates.
    public var held: HeldCertificate? {
        guard let serial, let notBefore = notBefore.flatMap({ try? Date($0, strategy: .iso8601) }),
            let notAfter = try? Date(notAfter, strategy: .iso8601)
        else { return nil }
        return HeldCertificate(subject: subject, serial: serial, notBefore: notBefore, notAfter: notAfter, fingerprint: fingerprint)
    }
}
