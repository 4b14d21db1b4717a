import SCEPOpsConfig
import SCEPOpsCore

/// Desired and current states built from file contents, for planner tests that run on
/// values alone (the in-memory tree: no disk, no git).
public enum PlanningFixtures {
    /// A stand-in for the state's keyed digest: stable, and not the secret itself.
    public static let digest: @Sendable (Secret) -> String = { secret in
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in secret.revealed.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return String(hash, radix: 16)
    }

    public static func load(_ files: [String: String], environment: [String: String] = ValidRepo.environment)
        -> (UnvalidatedConfig, ConfigValidator.Result)
    {
        let config = ConfigLoader.load(InMemoryTree(files.mapValues { Array($0.utf8) }), environment: environment)
        return (config, ConfigValidator.validate(config))
    }

    public static func desired(_ files: [String: String], environment: [String: String] = ValidRepo.environment)
        -> DesiredState
    {
        let (_, result) = load(files, environment: environment)
        guard let state = result.state else {
            fatalError("fixture is invalid: \(result.diagnostics.map(ValidationReport.line))")
        }
        return state
    }

    /// The state after applying `desired`, with `hosts` enrolled per team.
    public static func applied(_ desired: DesiredState, hosts: [String: Int] = [:], revision: Int = 1) -> CurrentState {
        var state = CurrentState(revision: revision, hostCounts: hosts)
        for ca in desired.certificateAuthorities {
            state.certificateAuthorities[ca.name] = CertificateAuthorityState(
                name: ca.name, url: ca.url, challengeDigest: digest(ca.challenge), file: ca.file)
        }
        let byPath = Dictionary(uniqueKeysWithValues: desired.profiles.map { ($0.path, $0) })
        for team in desired.teams {
            state.teams[team.name] = TeamState(
                name: team.name, enrollSecretDigest: digest(team.enrollSecret), file: team.file)
            for path in team.profilePaths {
                let profile = byPath[path]!
                let key = ProfileKey(team: team.name, identifier: profile.identifier)
                state.profiles[key] = ProfileState(
                    key: key, path: path, content: profile.content, certificateAuthorities: profile.certificateAuthorities)
            }
        }
        return state
    }
}
