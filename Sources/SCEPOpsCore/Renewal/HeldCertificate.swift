import Foundation

/// A certificate a host listed in its CertificateList answer, as renewal reads it.
public struct HeldCertificate: Sendable, Hashable {
    public var subject: String
    /// Hex, as OpenSSL prints it.
    public var serial: String
    public var notBefore: Date
    public var notAfter: Date
    /// SHA-256 of the DER, hex.
    public var fingerprint: String

    public init(subject: String, serial: String, notBefore: Date, notAfter: Date, fingerprint: String) {
        self.subject = subject
        self.serial = serial
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.fingerprint = fingerprint
    }

    /// The profile that delivered it, by the renewal id in its Subject; nil: unmanaged.
    public var profile: String? { RenewalID.profile(inSubject: subject) }

    public func isValid(at now: Date) -> Bool { notBefore <= now && now <= notAfter }

    /// What a CertificateList answer changes: by profile UUID, the certificates that stand
    /// now where they differ from the recorded ones. `known`: the state's profiles (a
    /// renewal id of any other is no profile of ours).
    public static func changes(
        listed: [HeldCertificate], recorded: [String: HeldCertificate], known: Set<String>, now: Date
    ) -> [String: HeldCertificate] {
        let byProfile = Dictionary(grouping: listed.filter { $0.profile.map(known.contains) ?? false }) { $0.profile! }
        var changed: [String: HeldCertificate] = [:]
        for profile in Set(byProfile.keys) {
            let old = recorded[profile]
            if let standing = standing(byProfile[profile]!, recorded: old, now: now), standing != old {
                changed[profile] = standing
            }
        }
        return changed
    }

    /// Which of a host's certificates for one profile stands: the newest (by not-before)
    /// of those inside their validity. A recorded one with a later expiry stays: a host
    /// that still lists an older certificate beside the new one, or a late answer, never
    /// moves the recorded expiry backwards.
    public static func standing(_ listed: [HeldCertificate], recorded: HeldCertificate?, now: Date) -> HeldCertificate? {
        let newest = listed.filter { $0.isValid(at: now) }
            .max { ($0.notBefore, $0.notAfter, $0.serial) < ($1.notBefore, $1.notAfter, $1.serial) }
        guard let recorded else { return newest }
        guard let newest else { return recorded }
        return newest.notAfter < recorded.notAfter ? recorded : newest
    }
}
