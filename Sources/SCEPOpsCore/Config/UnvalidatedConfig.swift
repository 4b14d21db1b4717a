/// Where a config was read from: a working tree, or a commit read through git.
public struct ConfigSource: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case workingTree = "working_tree"
        case commit
    }

    public var kind: Kind
    /// The repo directory as the user named it.
    public var repository: String
    /// The ref as given with `--ref`.
    public var ref: String?
    /// The full commit id: the commit read, or for a working tree inside git, its HEAD.
    public var commit: String?
    /// For a working tree inside git: whether it differs from HEAD.
    public var dirty: Bool?

    /// What the history records as the ref of an apply from a working tree whose files
    /// differ from its HEAD: the commit alone would claim what was not committed.
    public static let uncommittedRef = "working tree with uncommitted changes"

    /// The ref an apply records: the one given, or the mark of uncommitted changes.
    public var recordedRef: String? {
        ref ?? (kind == .workingTree && dirty == true ? Self.uncommittedRef : nil)
    }

    public init(kind: Kind, repository: String, ref: String? = nil, commit: String? = nil, dirty: Bool? = nil) {
        self.kind = kind
        self.repository = repository
        self.ref = ref
        self.commit = commit
        self.dirty = dirty
    }
}

/// A CA file as read from YAML, before the rules of docs/contract.md §1 are checked. Fields the file
/// lacks are nil; the reader has already reported them.
public struct CertificateAuthorityDocument: Sendable, Hashable {
    public var file: String
    public var name: Located<String>?
    public var url: Located<String>?
    public var challenge: Located<Secret>?
    /// Whether the challenge came from an environment variable rather than the file.
    public var challengeFromEnvironment: Bool
    /// `renewal:`, as read (the reader reports a malformed one and leaves it out).
    public var renewal: RenewalSettings

    public init(
        file: String, name: Located<String>? = nil, url: Located<String>? = nil, challenge: Located<Secret>? = nil,
        challengeFromEnvironment: Bool = true, renewal: RenewalSettings = RenewalSettings()
    ) {
        self.file = file
        self.name = name
        self.url = url
        self.challenge = challenge
        self.challengeFromEnvironment = challengeFromEnvironment
        self.renewal = renewal
    }
}

/// A team file as read from YAML, before validation.
public struct TeamDocument: Sendable, Hashable {
    public var file: String
    public var name: Located<String>?
    public var enrollSecret: Located<Secret>?
    public var enrollSecretFromEnvironment: Bool
    /// Paths or globs relative to the repo root, as written.
    public var profiles: [Located<String>]

    public init(
        file: String, name: Located<String>? = nil, enrollSecret: Located<Secret>? = nil,
        enrollSecretFromEnvironment: Bool = true, profiles: [Located<String>] = []
    ) {
        self.file = file
        self.name = name
        self.enrollSecret = enrollSecret
        self.enrollSecretFromEnvironment = enrollSecretFromEnvironment
        self.profiles = profiles
    }
}

/// A `.mobileconfig` file under `profiles/`. `content` is nil when the file could not be
/// read (too large, a symlink out of the repo); the reader has reported why.
public struct ProfileFile: Sendable, Hashable {
    public var path: String
    public var content: [UInt8]?

    public init(path: String, content: [UInt8]?) {
        self.path = path
        self.content = content
    }
}

/// Everything read from a config repo, not yet checked against the rules. Only
/// `ConfigValidator` turns it into a `DesiredState`.
public struct UnvalidatedConfig: Sendable {
    public var source: ConfigSource
    public var certificateAuthorities: [CertificateAuthorityDocument]
    public var teams: [TeamDocument]
    public var profiles: [ProfileFile]
    /// What reading found: unreadable files, YAML syntax and shape, unset variables.
    public var diagnostics: [Diagnostic]

    public init(
        source: ConfigSource, certificateAuthorities: [CertificateAuthorityDocument] = [],
        teams: [TeamDocument] = [], profiles: [ProfileFile] = [], diagnostics: [Diagnostic] = []
    ) {
        self.source = source
        self.certificateAuthorities = certificateAuthorities
        self.teams = teams
        self.profiles = profiles
        self.diagnostics = diagnostics
    }
}
