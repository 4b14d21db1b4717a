import Foundation

/// A config as remote mode sends it to the server: what the CLI read from the repo, with
/// the secrets expanded from its own environment. The server validates and plans it with
/// the same code as local mode, so both give the same findings at the same lines.
///
/// It holds secrets in the clear: it goes only to the admin API, and is never logged or
/// saved.
public struct ConfigUpload: Codable, Sendable {
    public struct Position: Codable, Sendable, Hashable {
        public var line: Int
        public var column: Int
    }

    public struct Value: Codable, Sendable, Hashable {
        public var value: String
        public var at: Position?
        /// For a secret `plan --without-secrets` did not read.
        public var unchecked: Bool?
    }

    public struct CertificateAuthority: Codable, Sendable {
        public var file: String
        public var name: Value?
        public var url: Value?
        public var challenge: Value?
        public var challengeFromEnvironment: Bool
        /// `renewal.before` in seconds, and `renewal.max_per_hour`.
        public var renewalBefore: Double?
        public var renewalMaxPerHour: Int?

        enum CodingKeys: String, CodingKey {
            case file, name, url, challenge
            case challengeFromEnvironment = "challenge_from_environment"
            case renewalBefore = "renewal_before"
            case renewalMaxPerHour = "renewal_max_per_hour"
        }
    }

    public struct Team: Codable, Sendable {
        public var file: String
        public var name: Value?
        public var enrollSecret: Value?
        public var enrollSecretFromEnvironment: Bool
        public var profiles: [Value]

        enum CodingKeys: String, CodingKey {
            case file, name, profiles
            case enrollSecret = "enroll_secret"
            case enrollSecretFromEnvironment = "enroll_secret_from_environment"
        }
    }

    public struct ProfileFile: Codable, Sendable {
        public var path: String
        /// Base64; nil for a file the CLI could not read (its finding says why), or when the
        /// bytes travel raw after the JSON (`Framed`), with their `length`.
        public var content: String?
        public var length: Int?
        /// The bytes as `Framed` carries them; not part of the JSON.
        public var raw: [UInt8]?

        enum CodingKeys: String, CodingKey { case path, content, length }
    }

    public var source: PlanDocument.Source
    public var certificateAuthorities: [CertificateAuthority]
    public var teams: [Team]
    public var profiles: [ProfileFile]
    public var diagnostics: [JSONDiagnostic]

    enum CodingKeys: String, CodingKey {
        case source, teams, profiles, diagnostics
        case certificateAuthorities = "certificate_authorities"
    }

    /// Without `embedsContent`, profile bytes are left for the framing to carry.
    public init(_ config: UnvalidatedConfig, embedsContent: Bool = true) {
        source = PlanDocument.Source(config.source)
        certificateAuthorities = config.certificateAuthorities.map {
            CertificateAuthority(
                file: $0.file, name: $0.name.map(Self.value), url: $0.url.map(Self.value),
                challenge: $0.challenge.map(Self.secret),
                challengeFromEnvironment: $0.challengeFromEnvironment, renewalBefore: $0.renewal.before,
                renewalMaxPerHour: $0.renewal.maximumPerHour)
        }
        teams = config.teams.map {
            Team(
                file: $0.file, name: $0.name.map(Self.value),
                enrollSecret: $0.enrollSecret.map(Self.secret),
                enrollSecretFromEnvironment: $0.enrollSecretFromEnvironment, profiles: $0.profiles.map(Self.value))
        }
        profiles = config.profiles.map {
            ProfileFile(path: $0.path, content: embedsContent ? $0.content.map { Data($0).base64EncodedString() } : nil)
        }
        diagnostics = config.diagnostics.map(JSONDiagnostic.init)
    }

    /// The config the CLI read; nil when the upload does not describe one (an unknown
    /// source kind or diagnostic code, a profile that is not base64).
    public func config() -> UnvalidatedConfig? {
        guard let kind = ConfigSource.Kind(rawValue: source.kind) else { return nil }
        var profileFiles: [SCEPOpsCore.ProfileFile] = []
        for profile in profiles {
            var content = profile.raw
            if content == nil, let encoded = profile.content {
                guard let data = Data(base64Encoded: encoded) else { return nil }
                content = [UInt8](data)
            }
            profileFiles.append(SCEPOpsCore.ProfileFile(path: profile.path, content: content))
        }
        var read: [Diagnostic] = []
        for diagnostic in diagnostics {
            guard let found = diagnostic.diagnostic() else { return nil }
            read.append(found)
        }
        return UnvalidatedConfig(
            source: ConfigSource(
                kind: kind, repository: source.repository, ref: source.ref, commit: source.commit, dirty: source.dirty),
            certificateAuthorities: certificateAuthorities.map {
                CertificateAuthorityDocument(
                    file: $0.file, name: $0.name.map(Self.located), url: $0.url.map(Self.located),
                    challenge: $0.challenge.map(Self.secret),
                    challengeFromEnvironment: $0.challengeFromEnvironment,
                    renewal: RenewalSettings(before: $0.renewalBefore, maximumPerHour: $0.renewalMaxPerHour))
            },
            teams: teams.map {
                TeamDocument(
                    file: $0.file, name: $0.name.map(Self.located),
                    enrollSecret: $0.enrollSecret.map(Self.secret),
                    enrollSecretFromEnvironment: $0.enrollSecretFromEnvironment, profiles: $0.profiles.map(Self.located))
            },
            profiles: profileFiles, diagnostics: read)
    }

    private static func value(_ located: Located<String>) -> Value {
        Value(value: located.value, at: located.position.map(position))
    }

    private static func position(_ position: SourcePosition) -> Position {
        Position(line: position.line, column: position.column)
    }

    private static func position(_ position: Position) -> SourcePosition {
        SourcePosition(line: position.line, column: position.column)
    }

    private static func secret(_ located: Located<Secret>) -> Value {
        Value(
            value: located.value.revealed, at: located.position.map(position), unchecked: located.value.isUnchecked ? true : nil)
    }

    private static func secret(_ value: Value) -> Located<Secret> {
        Located(value.unchecked == true ? .unchecked : Secret(value.value), at: value.at.map(position))
    }

    private static func located(_ value: Value) -> Located<String> {
        Located(value.value, at: value.at.map(position))
    }
}

extension JSONDiagnostic {
    /// The diagnostic this was made from; nil for an unknown severity or code.
    public func diagnostic() -> Diagnostic? {
        guard let severity = Diagnostic.Severity(rawValue: severity), let code = DiagnosticCode(rawValue: code) else {
            return nil
        }
        let position = line.map { SourcePosition(line: $0, column: column ?? 1) }
        return Diagnostic(severity, code, file: file, at: position, message)
    }
}
