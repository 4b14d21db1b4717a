/// A certificate authority that passed validation.
public struct CertificateAuthority: Sendable, Hashable {
    public var name: String
    public var url: String
    public var challenge: Secret
    /// The file that defines it, repo-relative.
    public var file: String
    public var renewal = RenewalSettings()
}

/// A team that passed validation, with its profile globs resolved to files.
public struct Team: Sendable, Hashable {
    public var name: String
    public var enrollSecret: Secret
    /// Repo-relative profile paths, sorted.
    public var profilePaths: [String]
    public var file: String
}

/// A profile that passed validation.
public struct Profile: Sendable, Hashable {
    public var path: String
    /// The top-level PayloadIdentifier.
    public var identifier: String
    /// The top-level PayloadUUID.
    public var uuid: String
    public var displayName: String?
    /// The file's bytes, as the server will render them per host. The parsed tree is not
    /// kept: at 10,000 profiles it would outweigh everything else, and only a changed
    /// profile needs it again (`PlistParser.parse(content)`).
    public var content: [UInt8]
    /// The CAs the profile takes certificates from, sorted.
    public var certificateAuthorities: [String]
}

/// The validated desired state of a config repo: the only input the planner accepts.
public struct DesiredState: Sendable {
    public var source: ConfigSource
    /// Sorted by name.
    public var certificateAuthorities: [CertificateAuthority]
    /// Sorted by name.
    public var teams: [Team]
    /// Sorted by path.
    public var profiles: [Profile]

    /// Whether a secret was left unread (`plan --without-secrets`): such a state is planned,
    /// never applied.
    public var hasUncheckedSecrets: Bool {
        certificateAuthorities.contains { $0.challenge.isUnchecked } || teams.contains { $0.enrollSecret.isUnchecked }
    }
}
