/// One difference that `scepops drift` reports. `subject` names what it is about and stays
/// the same from run to run; `message` may carry what changes (days left, details), so it
/// is not part of the fingerprint.
public struct DriftFinding: Sendable, Hashable, Comparable {
    /// The three classes of drift, in the order they are reported.
    public enum Category: String, Sendable, Hashable, CaseIterable {
        /// Git against the state: what `plan` would do.
        case unapplied
        /// The state against the hosts.
        case host
        /// The state against the CAs' upstream servers.
        case certificateAuthority = "certificate_authority"

        var rank: Int { Self.allCases.firstIndex(of: self)! }
    }

    /// Stable codes: cron jobs and ignore files match on them.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case unappliedChange = "unapplied-change"
        case profileFailed = "profile-failed"
        case profileMissing = "profile-missing"
        case profileUnexpected = "profile-unexpected"
        case certificateExpiring = "certificate-expiring"
        case hostUnseen = "host-unseen"
        case renewalFailed = "renewal-failed"
        case caUnreachable = "ca-unreachable"
        case caCertificateChanged = "ca-certificate-changed"
        case caCertificateExpiring = "ca-certificate-expiring"

        public var category: Category {
            switch self {
            case .unappliedChange: .unapplied
            case .profileFailed, .profileMissing, .profileUnexpected, .certificateExpiring, .hostUnseen, .renewalFailed: .host
            case .caUnreachable, .caCertificateChanged, .caCertificateExpiring: .certificateAuthority
            }
        }
    }

    public var kind: Kind
    public var subject: String
    public var message: String
    /// For a host's finding: its team and serial, by which reports group and ignore rules
    /// match. Not part of the fingerprint: a host changing team is still the same finding.
    public var team: String?
    public var hostSerial: String?

    public init(_ kind: Kind, subject: String, _ message: String) {
        self.kind = kind
        self.subject = subject
        self.message = message
    }

    public var category: Category { kind.category }

    /// 64-bit FNV-1a of the kind and subject, hex: short enough to paste into an ignore
    /// file, and the same on every machine and run.
    public var fingerprint: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in (kind.rawValue + "\u{0}" + subject).utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    public static func < (lhs: DriftFinding, rhs: DriftFinding) -> Bool {
        (lhs.category.rank, lhs.kind.rawValue, lhs.subject, lhs.message)
            < (rhs.category.rank, rhs.kind.rawValue, rhs.subject, rhs.message)
    }
}
