/// Whether a saved plan may be applied now: only if everything it was made from is still so.
public enum SavedPlanCheck {
    public enum Decision: Sendable, Hashable {
        /// It applies as reviewed; the notice says why a new commit does not matter.
        case applies(notice: String?)
        case stale(String)
    }

    public static func decide(saved was: PlanDocument.Binding, now: PlanDocument.Binding) -> Decision {
        var problems: [String] = []
        // A merge makes a new commit from the reviewed one: what must hold is the config
        // it was made from, not the commit id.
        if was.commit != now.commit, was.desiredFingerprint != now.desiredFingerprint {
            problems.append(
                "it was made from commit \(was.commit ?? "(none)"), and the config at \(now.commit ?? "(none)") differs from it")
        }
        if was.stateRevision != now.stateRevision {
            problems.append("the state changed since (revision \(was.stateRevision), now \(now.stateRevision))")
        }
        let changedSecrets = Set(was.secretDigests.keys).union(now.secretDigests.keys).sorted().filter {
            was.secretDigests[$0] != now.secretDigests[$0]
        }
        if !changedSecrets.isEmpty {
            problems.append("these secrets differ from the ones it was made with: \(changedSecrets.joined(separator: ", "))")
        }
        if problems.isEmpty, was.commit == now.commit, was.desiredFingerprint != now.desiredFingerprint {
            problems.append("the config differs from the one it was made from")
        }
        if problems.isEmpty, was.planHash != now.planHash {
            problems.append("planning again gives different changes")
        }
        guard problems.isEmpty else {
            return .stale("the saved plan is stale: \(problems.joined(separator: "; ")). Nothing was applied; plan again.")
        }
        guard was.commit != now.commit else { return .applies(notice: nil) }
        return .applies(
            notice:
                "scepops: the plan was made at commit \(was.commit ?? "(none)"); \(now.commit ?? "(none)") has the same config, so it applies as reviewed")
    }
}
