/// Argo CD's allowEmpty=false: a plan that deletes every CA, every team or every profile
/// the state has is far more often a wrong `--repo` or a broken checkout than a decision,
/// and it would send RemoveProfile to the whole fleet. Apply refuses it unless told
/// `--allow-destroy`.
public enum DestroyGuard {
    /// The kinds the state has some of and the desired state has none of.
    public static func emptied(_ desired: DesiredState, _ current: CurrentState) -> [PlannedChange.Kind] {
        var kinds: [PlannedChange.Kind] = []
        if !current.certificateAuthorities.isEmpty, desired.certificateAuthorities.isEmpty { kinds.append(.certificateAuthority) }
        if !current.teams.isEmpty, desired.teams.isEmpty { kinds.append(.team) }
        if !current.profiles.isEmpty, desired.teams.allSatisfy({ $0.profilePaths.isEmpty }) { kinds.append(.profile) }
        return kinds
    }

    /// What plan shows, so that the pull request says it before apply refuses it.
    public static func warning(_ kinds: [PlannedChange.Kind], _ current: CurrentState) -> Diagnostic? {
        guard !kinds.isEmpty else { return nil }
        let counts = kinds.map { kind -> String in
            switch kind {
            case .certificateAuthority: "every certificate authority (\(current.certificateAuthorities.count))"
            case .team: "every team (\(current.teams.count))"
            case .profile: "every profile (\(current.profiles.count))"
            }
        }
        return .warning(
            .destroysEverything, file: nil,
            "this plan deletes \(counts.joined(separator: ", ")) in the state; `scepops apply` refuses it without --allow-destroy")
    }
}
