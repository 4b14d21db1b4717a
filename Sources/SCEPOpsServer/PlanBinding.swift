import SCEPOpsCore
import SCEPOpsStore

/// What binds a saved plan to the config and state it was made from, with secrets only
/// as keyed digests.
public enum PlanBinding {
    static func secretDigests(_ desired: DesiredState, _ box: SecretBox) -> [String: String] {
        var digests: [String: String] = [:]
        for ca in desired.certificateAuthorities where !ca.challenge.isUnchecked {
            digests["certificate_authority/\(ca.name)/challenge"] = box.digest(ca.challenge)
        }
        for team in desired.teams where !team.enrollSecret.isUnchecked {
            digests["team/\(team.name)/enroll_secret"] = box.digest(team.enrollSecret)
        }
        return digests
    }

    /// SHA-256 over a canonical listing of the desired state.
    static func fingerprint(_ desired: DesiredState, _ box: SecretBox) -> String {
        var lines: [String] = []
        for ca in desired.certificateAuthorities {
            lines.append(["ca", ca.name, ca.url, box.digest(ca.challenge), ca.file].joined(separator: "\u{0}"))
        }
        for team in desired.teams {
            lines.append((["team", team.name, box.digest(team.enrollSecret), team.file] + team.profilePaths).joined(separator: "\u{0}"))
        }
        for profile in desired.profiles {
            lines.append(["profile", profile.path, SecretBox.sha256(profile.content)].joined(separator: "\u{0}"))
        }
        return SecretBox.sha256(Array(lines.joined(separator: "\n").utf8))
    }

    /// Over the changes (without the CA certificates, which apply fetches again), the
    /// desired state and the state revision.
    static func planHash(_ plan: Plan, fingerprint: String) -> String {
        var unchecked = plan
        for index in unchecked.changes.indices { unchecked.changes[index].caCertificate = nil }
        let changes = PlanDocument(unchecked).canonicalChanges()
        return SecretBox.sha256(changes + Array("\u{0}\(fingerprint)\u{0}\(plan.stateRevision)".utf8))
    }

    public static func make(_ plan: Plan, _ desired: DesiredState, _ box: SecretBox) -> PlanDocument.Binding {
        let fingerprint = fingerprint(desired, box)
        return PlanDocument.Binding(
            commit: plan.source.commit, desiredFingerprint: fingerprint, stateRevision: plan.stateRevision,
            planHash: planHash(plan, fingerprint: fingerprint), scepopsVersion: SCEPOpsVersion.current,
            secretDigests: secretDigests(desired, box), uncheckedSecrets: desired.hasUncheckedSecrets ? true : nil)
    }
}
