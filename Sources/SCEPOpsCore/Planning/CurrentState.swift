/// What the state holds, as the planner sees it: no secret values, only their digests.
public struct CurrentState: Sendable, Hashable {
    /// Increases with every write; a plan records it to detect a stale apply.
    public var revision: Int
    public var certificateAuthorities: [String: CertificateAuthorityState]
    public var teams: [String: TeamState]
    public var profiles: [ProfileKey: ProfileState]
    /// Enrolled hosts per team name.
    public var hostCounts: [String: Int]

    public init(
        revision: Int = 0, certificateAuthorities: [String: CertificateAuthorityState] = [:],
        teams: [String: TeamState] = [:], profiles: [ProfileKey: ProfileState] = [:], hostCounts: [String: Int] = [:]
    ) {
        self.revision = revision
        self.certificateAuthorities = certificateAuthorities
        self.teams = teams
        self.profiles = profiles
        self.hostCounts = hostCounts
    }

    public static let empty = CurrentState()
}

public struct CertificateAuthorityState: Sendable, Hashable {
    public var name: String
    public var url: String
    public var challengeDigest: String
    public var file: String
    public var renewal: RenewalSettings

    public init(name: String, url: String, challengeDigest: String, file: String, renewal: RenewalSettings = RenewalSettings()) {
        self.name = name
        self.url = url
        self.challengeDigest = challengeDigest
        self.file = file
        self.renewal = renewal
    }
}

public struct TeamState: Sendable, Hashable {
    public var name: String
    public var enrollSecretDigest: String
    public var file: String

    public init(name: String, enrollSecretDigest: String, file: String) {
        self.name = name
        self.enrollSecretDigest = enrollSecretDigest
        self.file = file
    }
}

/// A profile is delivered per team: the same file listed by two teams is two profiles.
public struct ProfileKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var team: String
    /// The top-level PayloadIdentifier, unique within a team.
    public var identifier: String

    public init(team: String, identifier: String) {
        self.team = team
        self.identifier = identifier
    }

    public static func < (lhs: ProfileKey, rhs: ProfileKey) -> Bool {
        (lhs.team, lhs.identifier) < (rhs.team, rhs.identifier)
    }

    public var description: String { "\(team)/\(identifier)" }
}

public struct ProfileState: Sendable, Hashable {
    public var key: ProfileKey
    public var path: String
    public var content: [UInt8]
    public var certificateAuthorities: [String]

    public init(key: ProfileKey, path: String, content: [UInt8], certificateAuthorities: [String]) {
        self.key = key
        self.path = path
        self.content = content
        self.certificateAuthorities = certificateAuthorities
    }
}
