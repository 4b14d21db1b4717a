import Foundation
import SCEPOpsCore

/// A certificate a host listed in its last CertificateList answer, with what renewal knows
/// of it: `scepops certificates` lists these.
public struct HostCertificate: Sendable, Hashable {
    public var hostUDID: String
    public var hostSerial: String?
    public var team: String?
    /// The PayloadIdentifier of the profile whose renewal id the Subject carries; nil:
    /// unmanaged.
    public var profile: String?
    public var certificateAuthority: String?
    public var subject: String
    public var serial: String?
    public var notBefore: Date?
    public var notAfter: Date
    /// The renewal record, for the certificate the host stands on for its profile.
    public var renewal: RenewalProgress?

    public var managed: Bool { profile != nil }

    public init(
        hostUDID: String, hostSerial: String?, team: String?, profile: String?, certificateAuthority: String?, subject: String,
        serial: String?, notBefore: Date?, notAfter: Date, renewal: RenewalProgress?
    ) {
        self.hostUDID = hostUDID
        self.hostSerial = hostSerial
        self.team = team
        self.profile = profile
        self.certificateAuthority = certificateAuthority
        self.subject = subject
        self.serial = serial
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.renewal = renewal
    }

    /// The read each backend lists them with (plain SQL both dialects take).
    static let query = """
        SELECT c.host_uuid, h.serial AS host_serial, h.team, c.subject, c.serial, c.not_before, c.not_after, p.identifier,
            (SELECT MIN(pc.ca_name) FROM profile_certificate_authority pc WHERE pc.profile_uuid = c.profile_uuid) AS ca,
            s.serial AS standing_serial, s.renewal_state, s.renewal_attempts, s.last_attempt_at, s.retry_at,
            s.replacing_serial, s.replacing_not_after
        FROM host_certificate c JOIN host h ON h.uuid = c.host_uuid
        LEFT JOIN profile p ON p.uuid = c.profile_uuid
        LEFT JOIN host_profile_certificate s ON s.host_uuid = c.host_uuid AND s.profile_uuid = c.profile_uuid
        """

    /// In one order on every backend: by expiry, then host, then serial.
    static func ordered(_ certificates: [HostCertificate]) -> [HostCertificate] {
        certificates.sorted { ($0.notAfter, $0.hostUDID, $0.serial ?? "") < ($1.notAfter, $1.hostUDID, $1.serial ?? "") }
    }
}
