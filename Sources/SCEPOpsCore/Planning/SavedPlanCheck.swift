/// Whether a saved plan may be applied now: only if everything it was made from is still so.
/// On merge, a stale plan may give way to a new one whose changes are exactly the reviewed
/// ones (`sameChanges`): then what is applied is still what was reviewed.
public enum SavedPlanCheck {
    public enum Decision: Sendable, Hashable {
        /// It applies as reviewed; the notice says why a new commit does not matter.
        case applies(notice: String?)
        /// Why, as "the state changed since (…); …".
        case stale(because: String)
    }

    /// Nil when `now` makes exactly the `reviewed` changes; else what differs first. The
    /// hosts a change reaches are not part of it: hosts enroll between review and merge.
    public static func changeDifference(reviewed: [PlanDocument.Change], now: [PlanDocument.Change]) -> String? {
        func comparable(_ change: PlanDocument.Change) -> PlanDocument.Change {
            var change = change
            change.hostsAffected = 0
            change.reason = nil
            return change
        }
        for (index, (old, new)) in zip(reviewed, now).enumerated() where comparable(old) != comparable(new) {
            return "change \(index + 1) was \(old.action) \(old.kind) \"\(old.name)\" and is now \(new.action) \(new.kind) \"\(new.name)\"\(old.name == new.name && old.action == new.action ? " with other fields" : "")"
        }
        if reviewed.count < now.count {
            let extra = now[reviewed.count]
            return "it adds \(now.count - reviewed.count) change(s), the first \(extra.action) \(extra.kind) \"\(extra.name)\""
        }
        if reviewed.count > now.count {
            let gone = reviewed[now.count]
            return "\(reviewed.count - now.count) reviewed change(s) are no longer in it, the first \(gone.action) \(gone.kind) \"\(gone.name)\""
        }
        return nil
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
            return .stale(because: problems.joined(separator: "; "))
        }
        guard was.commit != now.commit else { return .applies(notice: nil) }
        return .applies(
            notice:
                "scepops: the plan was made at commit \(was.commit ?? "(none)"); \(now.commit ?? "(none)") has the same config, so it applies as reviewed")
    }
}
