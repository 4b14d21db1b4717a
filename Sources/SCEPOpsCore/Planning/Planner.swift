/// The reconciler's core: a pure function from the desired state and the current state
/// to a `Plan`. No I/O; the digest of a secret is the only thing it asks of the outside.
public struct Planner: Sendable {
    /// Keyed digest of a secret, comparable with the digests the state keeps.
    public var secretDigest: @Sendable (Secret) -> String

    public init(secretDigest: @escaping @Sendable (Secret) -> String) {
        self.secretDigest = secretDigest
    }

    /// Apply order (docs/contract.md §2): what uses a CA goes before the CA goes, and a CA comes
    /// before what uses it.
    enum Step: Int, CaseIterable {
        case removeProfiles
        case removeTeams
        case removeCertificateAuthorities
        case writeCertificateAuthorities
        case writeTeams
        case installProfiles
    }

    public func plan(_ desired: DesiredState, against current: CurrentState) -> Plan {
        var steps: [Step: [PlannedChange]] = [:]
        var unchanged: [PlannedChange.Kind: Int] = [:]
        let instances = profileInstances(desired)
        let usage = certificateAuthorityUsage(instances)

        planCertificateAuthorities(desired, current, usage: usage, &steps, &unchanged)
        planTeams(desired, current, &steps, &unchanged)
        planProfiles(instances, current, &steps, &unchanged)

        var ordered: [PlannedChange] = []
        for step in Step.allCases {
            for var change in (steps[step] ?? []).sorted(by: { ($0.kind.rawValue, $0.name) < ($1.kind.rawValue, $1.name) }) {
                change.order = ordered.count + 1
                ordered.append(change)
            }
        }
        return Plan(
            source: desired.source, stateRevision: current.revision, changes: ordered, diagnostics: [],
            unchanged: unchanged)
    }

    // MARK: - Certificate authorities

    private func planCertificateAuthorities(
        _ desired: DesiredState, _ current: CurrentState, usage: [String: Set<ProfileKey>],
        _ steps: inout [Step: [PlannedChange]], _ unchanged: inout [PlannedChange.Kind: Int]
    ) {
        let wanted = Dictionary(uniqueKeysWithValues: desired.certificateAuthorities.map { ($0.name, $0) })
        var removed = Set(current.certificateAuthorities.keys).subtracting(wanted.keys)
        var added = Set(wanted.keys).subtracting(current.certificateAuthorities.keys)

        // Same file, new name: a rename, which docs/contract.md §2 turns into delete + create.
        for oldName in removed.sorted() {
            let old = current.certificateAuthorities[oldName]!
            guard let newName = added.sorted().first(where: { wanted[$0]!.file == old.file }) else { continue }
            let new = wanted[newName]!
            removed.remove(oldName)
            added.remove(newName)
            var fields = [FieldChange(path: "name", before: oldName, after: newName)]
            fields += caFields(old, new)
            steps[.removeCertificateAuthorities, default: []].append(
                PlannedChange(
                    action: .replace, .certificateAuthority(newName), previousName: oldName,
                    reason:
                        "renamed in \(new.file): a CA name never changes in place, so \"\(oldName)\" is deleted and \"\(newName)\" created",
                    fields: fields, file: new.file))
        }
        for name in removed {
            let old = current.certificateAuthorities[name]!
            steps[.removeCertificateAuthorities, default: []].append(
                PlannedChange(action: .delete, .certificateAuthority(name), file: old.file))
        }
        for name in added {
            let new = wanted[name]!
            steps[.writeCertificateAuthorities, default: []].append(
                PlannedChange(
                    action: .create, .certificateAuthority(name),
                    fields: [FieldChange(path: "url", before: nil, after: new.url)], file: new.file))
        }
        for (name, new) in wanted where current.certificateAuthorities[name] != nil {
            let old = current.certificateAuthorities[name]!
            let fields = caFields(old, new)
            guard !fields.isEmpty else {
                unchanged[.certificateAuthority, default: 0] += 1
                continue
            }
            var change = PlannedChange(action: .update, .certificateAuthority(name), fields: fields, file: new.file)
            if fields.contains(where: { $0.path == "challenge" }) {
                let profiles = usage[name] ?? []
                change.hostsAffected = Set(profiles.map(\.team)).reduce(0) { $0 + (current.hostCounts[$1] ?? 0) }
                change.reason = "a new challenge re-delivers the \(profiles.count) profile(s) that use it"
            } else if fields.contains(where: { $0.path == "url" }) {
                change.reason = "the proxy sends SCEP traffic to the new URL at once; nothing is re-delivered"
            }
            steps[.writeCertificateAuthorities, default: []].append(change)
        }
    }

    private func caFields(_ old: CertificateAuthorityState, _ new: CertificateAuthority) -> [FieldChange] {
        var fields: [FieldChange] = []
        if old.url != new.url { fields.append(FieldChange(path: "url", before: old.url, after: new.url)) }
        if !new.challenge.isUnchecked, old.challengeDigest != secretDigest(new.challenge) {
            fields.append(FieldChange(path: "challenge", before: nil, after: nil, sensitive: true))
        }
        if old.file != new.file { fields.append(FieldChange(path: "file", before: old.file, after: new.file)) }
        if old.renewal.before != new.renewal.before {
            fields.append(FieldChange(path: "renewal.before", before: old.renewal.before.map(DurationText.format), after: new.renewal.before.map(DurationText.format)))
        }
        if old.renewal.maximumPerHour != new.renewal.maximumPerHour {
            fields.append(FieldChange(path: "renewal.max_per_hour", before: old.renewal.maximumPerHour.map(String.init), after: new.renewal.maximumPerHour.map(String.init)))
        }
        return fields
    }

    // MARK: - Teams

    private func planTeams(
        _ desired: DesiredState, _ current: CurrentState, _ steps: inout [Step: [PlannedChange]],
        _ unchanged: inout [PlannedChange.Kind: Int]
    ) {
        let wanted = Dictionary(uniqueKeysWithValues: desired.teams.map { ($0.name, $0) })
        for (name, old) in current.teams where wanted[name] == nil {
            let hosts = current.hostCounts[name] ?? 0
            steps[.removeTeams, default: []].append(
                PlannedChange(
                    action: .delete, .team(name), hostsAffected: hosts,
                    reason: hosts > 0 ? "its \(hosts) host(s) leave the team and its profiles are removed from them" : nil,
                    file: old.file))
        }
        for (name, new) in wanted {
            guard let old = current.teams[name] else {
                steps[.writeTeams, default: []].append(PlannedChange(action: .create, .team(name), file: new.file))
                continue
            }
            var fields: [FieldChange] = []
            if !new.enrollSecret.isUnchecked, old.enrollSecretDigest != secretDigest(new.enrollSecret) {
                fields.append(FieldChange(path: "enroll_secret", before: nil, after: nil, sensitive: true))
            }
            if old.file != new.file { fields.append(FieldChange(path: "file", before: old.file, after: new.file)) }
            guard !fields.isEmpty else {
                unchanged[.team, default: 0] += 1
                continue
            }
            steps[.writeTeams, default: []].append(
                PlannedChange(action: .update, .team(name), fields: fields, file: new.file))
        }
    }

    // MARK: - Profiles

    private func planProfiles(
        _ instances: [ProfileKey: Profile], _ current: CurrentState, _ steps: inout [Step: [PlannedChange]],
        _ unchanged: inout [PlannedChange.Kind: Int]
    ) {
        for (key, old) in current.profiles where instances[key] == nil {
            steps[.removeProfiles, default: []].append(
                PlannedChange(
                    action: .delete, .profile(key), hostsAffected: current.hostCounts[key.team] ?? 0,
                    reason: "hosts get RemoveProfile, which also removes the profile's certificates", file: old.path))
        }
        for (key, new) in instances {
            let hosts = current.hostCounts[key.team] ?? 0
            guard let old = current.profiles[key] else {
                steps[.installProfiles, default: []].append(
                    PlannedChange(
                        action: .create, .profile(key), hostsAffected: hosts,
                        fields: new.certificateAuthorities.map { FieldChange(path: "certificate_authority", before: nil, after: $0) },
                        file: new.path))
                continue
            }
            if old.content == new.content, old.path == new.path {
                unchanged[.profile, default: 0] += 1
                continue
            }
            if Set(old.certificateAuthorities) != Set(new.certificateAuthorities) {
                // Certificates are tied to the CA name: the old profile and its certificates
                // go first, and the profile comes back once the new CA exists.
                let from = old.certificateAuthorities.joined(separator: ", ")
                let to = new.certificateAuthorities.joined(separator: ", ")
                steps[.removeProfiles, default: []].append(
                    PlannedChange(
                        action: .delete, .profile(key), hostsAffected: hosts,
                        reason: "its certificate authority changes (\(from) → \(to)): the old profile and its certificates are removed first",
                        file: old.path))
                steps[.installProfiles, default: []].append(
                    PlannedChange(
                        action: .create, .profile(key), hostsAffected: hosts,
                        reason: "re-installed with certificates from \(to)",
                        fields: new.certificateAuthorities.map { FieldChange(path: "certificate_authority", before: nil, after: $0) },
                        file: new.path))
                continue
            }
            var fields = ProfileDiff.fields(before: old.content, after: new.content)
            if old.path != new.path { fields.insert(FieldChange(path: "file", before: old.path, after: new.path), at: 0) }
            steps[.installProfiles, default: []].append(
                PlannedChange(
                    action: .update, .profile(key), hostsAffected: hosts,
                    reason: ProfileDiff.onlyPayloadUUIDs(fields) ? "only PayloadUUID values changed" : nil,
                    fields: fields, file: new.path))
        }
    }

    /// Each team's profiles, keyed as the state keys them.
    public func profileInstances(_ desired: DesiredState) -> [ProfileKey: Profile] {
        let byPath = Dictionary(uniqueKeysWithValues: desired.profiles.map { ($0.path, $0) })
        var instances: [ProfileKey: Profile] = [:]
        for team in desired.teams {
            for path in team.profilePaths {
                guard let profile = byPath[path] else { continue }
                instances[ProfileKey(team: team.name, identifier: profile.identifier)] = profile
            }
        }
        return instances
    }

    private func certificateAuthorityUsage(_ instances: [ProfileKey: Profile]) -> [String: Set<ProfileKey>] {
        var usage: [String: Set<ProfileKey>] = [:]
        for (key, profile) in instances {
            for ca in profile.certificateAuthorities { usage[ca, default: []].insert(key) }
        }
        return usage
    }
}
