import Dispatch
import Foundation

/// Turns an `UnvalidatedConfig` into a `DesiredState` by checking every rule of docs/contract.md §1,
/// reporting all findings of the run together.
public enum ConfigValidator {
    public struct Result: Sendable {
        /// Nil when any error was found.
        public var state: DesiredState?
        /// Sorted.
        public var diagnostics: [Diagnostic]
    }

    public static let maximumNameBytes = 255
    /// Fleet's UI shows a stored challenge as this mask; a config that holds the mask
    /// instead of the secret would silently break every enrollment.
    static let maskedSecret = "********"

    public static func validate(_ config: UnvalidatedConfig) -> Result {
        var diagnostics = config.diagnostics
        // The CAs are checked while the profiles are: a profile needs only their names.
        let known = Set(config.certificateAuthorities.compactMap { $0.name?.value })
        var ((cas, caDiagnostics), inspected) = concurrently {
            var found: [Diagnostic] = []
            return (validateCertificateAuthorities(config.certificateAuthorities, &found), found)
        } _: {
            inspectProfiles(config.profiles, knownCertificateAuthorities: known)
        }
        diagnostics += caDiagnostics
        // Profiles are moved out, not copied: at 10,000 of them each copy's reference
        // counting, on memory another core wrote, added up.
        var profiles: [Profile] = []
        profiles.reserveCapacity(inspected.count)
        for index in inspected.indices {
            diagnostics += inspected[index].diagnostics
            if let profile = inspected[index].profile.take() { profiles.append(profile) }
        }
        // A repo's files come sorted, each path once; an upload may not (the last of a path wins).
        if !profiles.indices.dropFirst().allSatisfy({ profiles[$0 - 1].path < profiles[$0].path }) {
            profiles = Dictionary(profiles.map { ($0.path, $0) }, uniquingKeysWith: { $1 }).values.sorted { $0.path < $1.path }
        }
        let teams = validateTeams(config.teams, files: config.profiles, profiles: profiles, &diagnostics)

        let assigned = Set(teams.flatMap(\.profilePaths))
        for index in config.profiles.indices where config.profiles[index].content != nil {
            let path = config.profiles[index].path
            if !assigned.contains(path) {
                diagnostics.append(.warning(.profileUnused, file: path, "no team lists this profile, so no host receives it"))
            }
        }

        diagnostics = Diagnostic.capped(diagnostics.sorted(), perFile: Diagnostic.perFileLimit)
        guard !diagnostics.hasErrors else { return Result(state: nil, diagnostics: diagnostics) }
        let state = DesiredState(
            source: config.source,
            certificateAuthorities: cas.sorted { $0.name < $1.name },
            teams: teams.sorted { $0.name < $1.name },
            profiles: profiles)
        return Result(state: state, diagnostics: diagnostics)
    }

    /// Each profile is checked on its own, so the work is spread over the cores: a repo
    /// of 10,000 profiles spends most of its validation time here.
    private static func inspectProfiles(_ files: [ProfileFile], knownCertificateAuthorities known: Set<String>)
        -> [(profile: Profile?, diagnostics: [Diagnostic])]
    {
        files.concurrentMap { file in
            guard let content = file.content else { return (nil, []) }
            return ProfileInspector.inspect(file, content: content, knownCertificateAuthorities: known)
        }
    }

    /// Where the paths that start with `prefix` are, found by binary search in the sorted
    /// list: a glob per team over 10,000 paths must not be a scan per team.
    private static func candidates(withPrefix prefix: String, in sorted: [String]) -> Range<Int> {
        let start = firstIndex(notBefore: prefix, in: sorted)
        var end = start
        while end < sorted.count, sorted[end].hasPrefix(prefix) { end += 1 }
        return start..<end
    }

    private static func position(of path: String, in sorted: [String]) -> Int? {
        let index = firstIndex(notBefore: path, in: sorted)
        return index < sorted.count && sorted[index] == path ? index : nil
    }

    private static func firstIndex(notBefore value: String, in sorted: [String]) -> Int {
        var low = 0
        var high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }

    // MARK: - Certificate authorities

    private static func validateCertificateAuthorities(
        _ documents: [CertificateAuthorityDocument], _ diagnostics: inout [Diagnostic]
    ) -> [CertificateAuthority] {
        var byName: [String: String] = [:]
        var valid: [CertificateAuthority] = []
        for document in documents.sorted(by: { $0.file < $1.file }) {
            let file = document.file
            var ok = true
            func error(_ code: DiagnosticCode, _ position: SourcePosition?, _ message: String) {
                diagnostics.append(.error(code, file: file, at: position, message))
                ok = false
            }

            if let name = document.name {
                if name.value.isEmpty {
                    error(.caNameEmpty, name.position, "CA name cannot be empty")
                } else if name.value.utf8.count > maximumNameBytes {
                    error(.caNameTooLong, name.position, "CA name cannot be longer than \(maximumNameBytes) characters")
                } else if !name.value.utf8.allSatisfy(FleetVariableScanner.isIdentifierByte) {
                    error(
                        .caNameInvalid, name.position,
                        "Invalid characters in the \"name\" field. Only letters, numbers and underscores allowed.")
                } else if let other = byName[name.value] {
                    error(
                        .caNameDuplicate, name.position,
                        "\"\(name.value)\" name is already used by another certificate authority (\(other)). Please choose a different name and try again."
                    )
                } else {
                    byName[name.value] = file
                }
            }
            if let url = document.url {
                switch SCEPURLCheck.check(url.value) {
                case .valid: break
                case .invalid: error(.caURLInvalid, url.position, "Invalid SCEP URL. Please correct and try again.")
                case .scheme: error(.caURLScheme, url.position, "SCEP URL scheme must be https or http")
                }
            }
            if let challenge = document.challenge {
                if challenge.value.isUnchecked {
                    diagnostics.append(
                        .warning(
                            .secretUnchecked, file: file, at: challenge.position,
                            "challenge not checked (--without-secrets): a change to it does not show in this plan, and the plan can never be applied"))
                } else if challenge.value.isEmpty || challenge.value.revealed == maskedSecret {
                    error(.caChallengeEmpty, challenge.position, "Custom SCEP Proxy challenge cannot be empty")
                } else if !document.challengeFromEnvironment {
                    diagnostics.append(
                        .warning(
                            .secretInRepo, file: file, at: challenge.position,
                            "the challenge is written in the file; take it from the environment, e.g. challenge: ${\(envName(document.name?.value))_CHALLENGE}"
                        ))
                }
            }
            // The reader refuses malformed values at their line; a config from the wire is checked again.
            if let before = document.renewal.before, !(before.isFinite && before >= 1 && before <= RenewalSettings.longestBefore) {
                error(.caRenewalInvalid, nil, "\"renewal.before\" must be a duration from 1s to \(DurationText.format(RenewalSettings.longestBefore))")
            }
            if let limit = document.renewal.maximumPerHour, !(1...RenewalSettings.maximumPerHourLimit).contains(limit) {
                error(.caRenewalInvalid, nil, "\"renewal.max_per_hour\" must be a whole number from 1 to \(RenewalSettings.maximumPerHourLimit)")
            }
            if ok, let name = document.name, let url = document.url, let challenge = document.challenge {
                valid.append(
                    CertificateAuthority(name: name.value, url: url.value, challenge: challenge.value, file: file, renewal: document.renewal))
            }
        }
        return valid
    }

    private static func envName(_ name: String?) -> String {
        let upper = (name ?? "CA").uppercased()
        return upper.utf8.allSatisfy(FleetVariableScanner.isIdentifierByte) ? upper : "CA"
    }

    // MARK: - Teams

    /// `profiles` are the valid ones among `files`, sorted by path, each path once.
    private static func validateTeams(
        _ documents: [TeamDocument], files: [ProfileFile], profiles: [Profile], _ diagnostics: inout [Diagnostic]
    ) -> [Team] {
        var paths = files.map(\.path)
        if !paths.indices.dropFirst().allSatisfy({ paths[$0 - 1] < paths[$0] }) { paths.sort() }
        // Each path's PayloadIdentifier (none for a profile that is not valid), by walking
        // the two sorted lists side by side rather than hashing every path.
        var identifiers = [String?](repeating: nil, count: paths.count)
        var next = 0
        for index in paths.indices {
            while next < profiles.count, profiles[next].path < paths[index] { next += 1 }
            if next < profiles.count, profiles[next].path == paths[index] { identifiers[index] = profiles[next].identifier }
        }
        let sorted = documents.sorted(by: { $0.file < $1.file })
        // Each team's list is matched against every path on its own, so on every core.
        let resolutions = sorted.concurrentMap(minimumPerCore: 16) { document in
            resolveProfiles(of: document, in: paths, identifiers: identifiers)
        }
        var byName: [String: String] = [:]
        var bySecret: [Secret: (team: String, file: String)] = [:]
        var teams: [Team] = []
        for (document, resolution) in zip(sorted, resolutions) {
            let file = document.file
            var ok = true
            func error(_ code: DiagnosticCode, _ position: SourcePosition?, _ message: String) {
                diagnostics.append(.error(code, file: file, at: position, message))
                ok = false
            }

            if let name = document.name {
                if name.value.trimmingPlistSpace().isEmpty {
                    error(.teamNameEmpty, name.position, "team name cannot be empty")
                } else if name.value.count > maximumNameBytes {
                    error(.teamNameTooLong, name.position, "team name cannot be longer than \(maximumNameBytes) characters")
                } else if let other = byName[name.value] {
                    error(
                        .teamNameDuplicate, name.position,
                        "team name \"\(name.value)\" is already used by \(other); team names must be unique")
                } else {
                    byName[name.value] = file
                }
            }
            if let secret = document.enrollSecret {
                if secret.value.isUnchecked {
                    diagnostics.append(
                        .warning(
                            .secretUnchecked, file: file, at: secret.position,
                            "enroll_secret not checked (--without-secrets): a change to it does not show in this plan, and the plan can never be applied"))
                } else if secret.value.isEmpty || secret.value.revealed == maskedSecret {
                    error(.teamEnrollSecretEmpty, secret.position, "enroll_secret cannot be empty")
                } else if let other = bySecret[secret.value] {
                    error(
                        .teamEnrollSecretDuplicate, secret.position,
                        "this enroll secret is already used by team \"\(other.team)\" (\(other.file)); each team needs its own, or a host's team would be ambiguous"
                    )
                } else {
                    bySecret[secret.value] = (document.name?.value ?? file, file)
                    if !document.enrollSecretFromEnvironment {
                        diagnostics.append(
                            .warning(
                                .secretInRepo, file: file, at: secret.position,
                                "the enroll secret is written in the file; take it from the environment, e.g. enroll_secret: ${TEAM_ENROLL_SECRET}"
                            ))
                    }
                }
            }

            diagnostics += resolution.diagnostics
            ok = ok && resolution.diagnostics.isEmpty

            if ok, let name = document.name, let secret = document.enrollSecret {
                teams.append(Team(name: name.value, enrollSecret: secret.value, profilePaths: resolution.paths, file: file))
            }
        }
        return teams
    }

    /// The profile paths a team's list names (sorted), and the errors in it: references
    /// that are malformed or match nothing, and two profiles with one PayloadIdentifier.
    private static func resolveProfiles(
        of document: TeamDocument, in paths: [String], identifiers: [String?]
    ) -> (paths: [String], diagnostics: [Diagnostic]) {
        let file = document.file
        var diagnostics: [Diagnostic] = []
        func error(_ code: DiagnosticCode, _ position: SourcePosition?, _ message: String) {
            diagnostics.append(.error(code, file: file, at: position, message))
        }
        // Positions in `paths`: sorted and made unique once at the end, not hashed as they come.
        var matches: [Int] = []
        for full in document.profiles {
            // Echoed in messages: a path of a megabyte is shown by its start.
            var reference = full
            if full.value.utf8.count > 200 { reference.value = full.value.prefix(200) + "…" }
            switch PathPattern.parse(full.value) {
            case .failure(.absolute):
                error(.pathEscapesRepo, reference.position, "profile path \"\(reference.value)\" is absolute; paths are relative to the repo root")
            case .failure(.escapesRepo):
                error(.pathEscapesRepo, reference.position, "profile path \"\(reference.value)\" leaves the repository")
            case .failure(.outsideProfiles):
                error(
                    .pathOutsideProfiles, reference.position,
                    "profile path \"\(reference.value)\" must be under \(PathPattern.profilesFolder)/ and name .mobileconfig files")
            case .success(let pattern):
                let before = matches.count
                if pattern.isGlob {
                    matches += candidates(withPrefix: pattern.literalPrefix, in: paths).filter { pattern.matches(paths[$0]) }
                } else if let position = position(of: pattern.text, in: paths) {
                    matches.append(position)
                }
                if matches.count == before {
                    let what = pattern.isGlob ? "glob \"\(reference.value)\" matches no" : "\"\(reference.value)\" is not a"
                    error(.pathMatchesNothing, reference.position, "profile \(what) .mobileconfig file in the repository")
                }
            }
        }
        matches.sort()
        var resolved: [String] = []
        var identified: [(path: String, identifier: String)] = []
        for (index, position) in matches.enumerated() where index == 0 || paths[position] != resolved.last {
            resolved.append(paths[position])
            if let identifier = identifiers[position] { identified.append((paths[position], identifier)) }
        }

        var byIdentifier: [String: String] = [:]
        for (path, identifier) in identified {
            if let other = byIdentifier[identifier] {
                let position = document.profiles.first { reference in
                    (try? PathPattern.parse(reference.value).get())?.matches(path) ?? false
                }?.position
                error(
                    .profileDuplicateIdentifier, position,
                    "profiles \(other) and \(path) both have PayloadIdentifier \"\(identifier)\"; it must be unique within team \"\(document.name?.value ?? file)\""
                )
            } else {
                byIdentifier[identifier] = path
            }
        }
        return (resolved, diagnostics)
    }
}
