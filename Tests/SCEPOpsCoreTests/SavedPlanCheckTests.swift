import SCEPOpsCore
import Testing

/// When a saved plan still applies, and when a new plan has exactly its changes.
@Suite("Saved plans and reviewed changes")
struct SavedPlanCheckTests {
    func binding(commit: String = "aaa", fingerprint: String = "f1", revision: Int = 3, hash: String = "h1") -> PlanDocument.Binding {
        PlanDocument.Binding(
            commit: commit, desiredFingerprint: fingerprint, stateRevision: revision, planHash: hash, scepopsVersion: "0",
            secretDigests: ["certificate_authority/WIFI/challenge": "d1"])
    }

    func change(_ order: Int, _ action: String, _ name: String, hosts: Int = 0, after: String? = nil) -> PlanDocument.Change {
        PlanDocument.Change(
            order: order, action: action, kind: "profile", name: name, previousName: nil, file: "profiles/x.mobileconfig",
            hostsAffected: hosts, reason: nil, fields: after.map { [PlanDocument.Field(path: "content", before: nil, after: $0, sensitive: false)] } ?? [],
            caCertificate: nil)
    }

    @Test func aSavedPlanAppliesOnlyWhileWhatItWasMadeFromHolds() {
        #expect(SavedPlanCheck.decide(saved: binding(), now: binding()) == .applies(notice: nil))
        // A merge commit with the same config applies as reviewed, and says so.
        guard case .applies(let notice?) = SavedPlanCheck.decide(saved: binding(), now: binding(commit: "bbb")) else {
            Issue.record("a new commit with the same config applies")
            return
        }
        #expect(notice.contains("has the same config"))
        #expect(SavedPlanCheck.decide(saved: binding(), now: binding(revision: 4)) == .stale(because: "the state changed since (revision 3, now 4)"))
        var otherSecret = binding()
        otherSecret.secretDigests["certificate_authority/WIFI/challenge"] = "d2"
        #expect(
            SavedPlanCheck.decide(saved: binding(), now: otherSecret)
                == .stale(because: "these secrets differ from the ones it was made with: certificate_authority/WIFI/challenge"))
        #expect(SavedPlanCheck.decide(saved: binding(), now: binding(hash: "h2")) == .stale(because: "planning again gives different changes"))
    }

    @Test func aNewPlanMatchesTheReviewedOneOnlyWithExactlyItsChanges() {
        let reviewed = [change(1, "create", "Kiosks/com.example.a", hosts: 3), change(2, "update", "Kiosks/com.example.b", after: "x")]
        // Hosts that enrolled since the review do not make it another change.
        #expect(SavedPlanCheck.changeDifference(reviewed: reviewed, now: [change(1, "create", "Kiosks/com.example.a", hosts: 9), reviewed[1]]) == nil)
        #expect(
            SavedPlanCheck.changeDifference(reviewed: reviewed, now: reviewed + [change(3, "delete", "Kiosks/com.example.c")])
                == "it adds 1 change(s), the first delete profile \"Kiosks/com.example.c\"")
        #expect(
            SavedPlanCheck.changeDifference(reviewed: reviewed, now: [reviewed[0]])
                == "1 reviewed change(s) are no longer in it, the first update profile \"Kiosks/com.example.b\"")
        #expect(
            SavedPlanCheck.changeDifference(reviewed: reviewed, now: [reviewed[0], change(2, "update", "Kiosks/com.example.b", after: "y")])
                == "change 2 was update profile \"Kiosks/com.example.b\" and is now update profile \"Kiosks/com.example.b\" with other fields")
    }
}
