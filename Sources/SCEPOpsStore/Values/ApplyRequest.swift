import Foundation
import SCEPOpsCore

/// Everything one apply writes: the plan, the desired values behind it (with secrets,
/// which the store seals), and who applied it.
public struct ApplyRequest: Sendable {
    public var plan: Plan
    public var desired: DesiredState
    /// By CA name: the certificates the live check fetched.
    public var certificates: [String: CACertificate]
    public var planHash: String
    public var actor: String
    public var version: String
    public var startedAt: Date
    /// Said in the history, e.g. that an expired lease was taken over.
    public var note: String?

    public init(
        plan: Plan, desired: DesiredState, certificates: [String: CACertificate] = [:], planHash: String, actor: String,
        version: String, startedAt: Date = Date(), note: String? = nil
    ) {
        self.plan = plan
        self.desired = desired
        self.certificates = certificates
        self.planHash = planHash
        self.actor = actor
        self.version = version
        self.startedAt = startedAt
        self.note = note
    }
}

extension ApplyRequest {
    /// Refuses a plan made against another revision of the state: nothing is applied.
    func requireRevision(_ revision: Int) throws(StoreError) {
        guard revision == plan.stateRevision else {
            throw StoreError(
                .stalePlan,
                "the state changed since the plan was made (revision \(plan.stateRevision), now \(revision)); nothing was applied. Plan again."
            )
        }
    }

    /// The desired values an apply writes, by name and key.
    struct Values {
        var certificateAuthorities: [String: CertificateAuthority]
        var teams: [String: Team]
        var profiles: [ProfileKey: Profile]
    }

    func values(_ box: SecretBox) -> Values {
        Values(
            certificateAuthorities: Dictionary(uniqueKeysWithValues: desired.certificateAuthorities.map { ($0.name, $0) }),
            teams: Dictionary(uniqueKeysWithValues: desired.teams.map { ($0.name, $0) }),
            profiles: Planner(secretDigest: box.digest).profileInstances(desired))
    }
}

/// One row of the apply history.
public struct ApplyRecord: Sendable, Hashable {
    public var id: Int64
    public var commit: String?
    public var ref: String?
    public var planHash: String
    public var actor: String
    public var version: String
    public var startedAt: String
    public var finishedAt: String
    public var result: ApplyResult
    public var counts: [PlannedChange.Action: Int]
    public var detail: String?
}
