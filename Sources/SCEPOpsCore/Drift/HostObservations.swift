import Foundation

/// What the state knows of the hosts, as the server recorded it from their answers
/// (InstallProfile results, ProfileList, CertificateList, check-ins).
public struct HostObservations: Sendable, Hashable {
    /// A profile delivery to a host that did not end verified.
    public struct Delivery: Sendable, Hashable {
        public var host: String
        /// `team/PayloadIdentifier`, as plan names profiles.
        public var profile: String
        public var detail: String?
        /// Re-deliveries made because the host's ProfileList lacked it.
        public var retries: Int

        public init(host: String, profile: String, detail: String?, retries: Int) {
            self.host = host
            self.profile = profile
            self.detail = detail
            self.retries = retries
        }
    }

    public struct UnexpectedProfile: Sendable, Hashable {
        public var host: String
        public var identifier: String

        public init(host: String, identifier: String) {
            self.host = host
            self.identifier = identifier
        }
    }

    /// A certificate a host listed in its CertificateList answer.
    public struct Certificate: Sendable, Hashable {
        public var host: String
        public var subject: String
        public var fingerprint: String
        public var notAfter: Date

        public init(host: String, subject: String, fingerprint: String, notAfter: Date) {
            self.host = host
            self.subject = subject
            self.fingerprint = fingerprint
            self.notAfter = notAfter
        }
    }

    public struct Host: Sendable, Hashable {
        public var uuid: String
        public var team: String?
        /// The last check-in or command report; nil: never since enrolment.
        public var lastSeen: Date?
        public var enrolledAt: Date

        public init(uuid: String, team: String?, lastSeen: Date?, enrolledAt: Date) {
            self.uuid = uuid
            self.team = team
            self.lastSeen = lastSeen
            self.enrolledAt = enrolledAt
        }
    }

    /// A renewal that failed for good (`RenewalState.failed`).
    public struct FailedRenewal: Sendable, Hashable {
        public var host: String
        /// `team/PayloadIdentifier`.
        public var profile: String
        public var attempts: Int
        /// The last attempt's reason.
        public var detail: String?
        public var notAfter: Date

        public init(host: String, profile: String, attempts: Int, detail: String?, notAfter: Date) {
            self.host = host
            self.profile = profile
            self.attempts = attempts
            self.detail = detail
            self.notAfter = notAfter
        }
    }

    public var failed: [Delivery]
    /// Deliveries the host's ProfileList lacked, being sent again.
    public var missing: [Delivery]
    public var unexpected: [UnexpectedProfile]
    public var certificates: [Certificate]
    /// Hosts in a team.
    public var hosts: [Host]
    public var failedRenewals: [FailedRenewal]
    /// Each host's serial number, by UDID, where it gave one: findings name both.
    public var serials: [String: String]

    public init(
        failed: [Delivery] = [], missing: [Delivery] = [], unexpected: [UnexpectedProfile] = [],
        certificates: [Certificate] = [], hosts: [Host] = [], failedRenewals: [FailedRenewal] = [], serials: [String: String] = [:]
    ) {
        self.failed = failed
        self.missing = missing
        self.unexpected = unexpected
        self.certificates = certificates
        self.hosts = hosts
        self.failedRenewals = failedRenewals
        self.serials = serials
    }
}

/// A CA as applied, and what its URL answers now.
public struct CertificateAuthorityHealth: Sendable, Hashable {
    public enum Live: Sendable, Hashable {
        case answered(CACertificateSummary)
        /// The reason, without the URL's credentials.
        case unreachable(String)
        /// Not asked (`--offline`).
        case unchecked
    }

    public var name: String
    /// The certificate recorded when the CA was applied.
    public var applied: CACertificateSummary?
    public var live: Live

    public init(name: String, applied: CACertificateSummary?, live: Live) {
        self.name = name
        self.applied = applied
        self.live = live
    }
}
