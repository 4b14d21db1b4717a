import SCEPOpsCore

/// The state at a glance, without secrets.
public struct StateStatus: Sendable, Hashable {
    public struct CertificateAuthorityRow: Sendable, Hashable {
        public var name: String
        public var url: String
        public var file: String
        public var certificate: CACertificateSummary?
        public var lastCommit: String?
        public var updatedAt: String
        public var renewal = RenewalSettings()
    }

    public struct TeamRow: Sendable, Hashable {
        public var name: String
        public var file: String
        public var hosts: Int
        public var profiles: Int
        public var lastCommit: String?
        public var updatedAt: String
    }

    public struct ProfileRow: Sendable, Hashable {
        public var uuid: String
        public var team: String
        public var identifier: String
        public var path: String
        public var certificateAuthorities: [String]
        public var hostProfiles: [DeliveryStatus: Int]
        public var lastCommit: String?
        public var updatedAt: String
    }

    public var revision: Int
    public var certificateAuthorities: [CertificateAuthorityRow]
    public var teams: [TeamRow]
    public var profiles: [ProfileRow]
    /// Deliveries by status, over every host and profile.
    public var hostProfiles: [DeliveryStatus: Int]
    public var lastApply: ApplyRecord?
}
