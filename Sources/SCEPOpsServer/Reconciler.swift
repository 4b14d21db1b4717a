import Foundation
import SCEP
import SCEPOpsCore
import SCEPOpsStore

/// Plan and apply of a config that has been read, against a state: what the CLI runs in
/// local mode and the admin API runs for remote mode, so that both say the same.
public struct Reconciler: Sendable {
    public struct CACheck: Sendable, Codable, Hashable {
        /// Skip the live GetCACert check.
        public var offline: Bool
        /// Seconds to wait for a CA to answer.
        public var timeout: Int

        public init(offline: Bool, timeout: Int) {
            self.offline = offline
            self.timeout = timeout
        }
    }

    public var caCheck: CACheck
    /// GetCACert against new and changed CA URLs; drift checks every CA its own way.
    public var checksNewCAs = true

    public init(caCheck: CACheck, checksNewCAs: Bool = true) {
        self.caCheck = caCheck
        self.checksNewCAs = checksNewCAs
    }

    public struct Outcome: Sendable {
        public var plan: Plan
        public var desired: DesiredState?
        /// By CA name, from the live check.
        public var certificates: [String: CACertificate] = [:]
        public var caCheckNote: String?
        public var box: SecretBox
        /// Kinds the plan deletes every one of (`DestroyGuard`).
        public var emptied: [PlannedChange.Kind] = []

        public var binding: PlanDocument.Binding? {
            desired.map { PlanBinding.make(plan, $0, box) }
        }

        /// The plan as JSON; with its binding, the body of a plan file.
        public func document(bound: Bool = false) -> PlanDocument {
            PlanDocument(plan, caCheck: caCheckNote, binding: bound ? binding : nil)
        }
    }

    /// Plans `config` against `store` (nil: an empty state that does not exist yet).
    public func plan(_ config: UnvalidatedConfig, store: (any StateReader)?, box: SecretBox) async throws(StoreError) -> Outcome {
        let validation = ConfigValidator.validate(config)
        let current = try await store?.currentState() ?? .empty

        guard let desired = validation.state else {
            var diagnostics = validation.diagnostics + CANameRule.violations(config, current: current)
            diagnostics.sort()
            let plan = Plan(
                source: config.source, stateRevision: current.revision, changes: [], diagnostics: diagnostics,
                unchanged: [:])
            return Outcome(plan: plan, desired: nil, box: box)
        }
        var plan = Planner(secretDigest: box.digest).plan(desired, against: current)
        plan.diagnostics = validation.diagnostics
        let emptied = DestroyGuard.emptied(desired, current)
        if let warning = DestroyGuard.warning(emptied, current) { plan.diagnostics.append(warning) }
        var outcome = Outcome(plan: plan, desired: desired, box: box, emptied: emptied)
        await checkCertificateAuthorities(&outcome)
        outcome.plan.diagnostics.sort()
        return outcome
    }

    /// What an apply asks for besides the config.
    public struct ApplyOptions: Sendable {
        /// The binding of the plan that was reviewed: a plan file's, or the one shown before
        /// a confirmation. Nil applies what planning gives now.
        public var reviewed: PlanDocument.Binding?
        /// With `reviewed`: the changes of the reviewed plan. A stale plan then gives way to
        /// a new one with exactly these changes (the merge of a reviewed pull request);
        /// other changes are refused.
        public var sameChanges: [PlanDocument.Change]?
        public var allowDestroy: Bool
        public var actor: String
        public var lease: Lease

        public init(
            reviewed: PlanDocument.Binding?, sameChanges: [PlanDocument.Change]? = nil, allowDestroy: Bool, actor: String,
            lease: Lease
        ) {
            self.reviewed = reviewed
            self.sameChanges = sameChanges
            self.allowDestroy = allowDestroy
            self.actor = actor
            self.lease = lease
        }
    }

    public struct Applied: Sendable {
        public enum Result: Sendable {
            /// The config has errors: the plan says which.
            case invalid
            case noChanges
            case cancelled
            /// Refused with the CLI's error code (`stale-plan`, `destroys-everything`, a
            /// store error's) and a message without secrets.
            case refused(code: String, message: String)
            case applied(ApplyRecord)

            public var record: ApplyRecord? {
                if case .applied(let record) = self { record } else { nil }
            }

            /// The code and message of a refusal; nil for any other result.
            public var refusal: (code: String, message: String)? {
                switch self {
                case .refused(let code, let message): (code, message)
                case .cancelled: ("cancelled", "Apply cancelled; nothing was changed.")
                case .invalid, .noChanges, .applied: nil
                }
            }
        }

        /// Nil when it was refused before a plan was made (the lock is held).
        public var outcome: Outcome?
        public var result: Result
        /// Said on standard error, in order: why a new commit still applies as reviewed,
        /// that an expired lock was taken over.
        public var notices: [String] = []

        /// Whether the state is as the config wants it now.
        public var succeeded: Bool {
            switch result {
            case .applied, .noChanges: true
            case .invalid, .cancelled, .refused: false
            }
        }
    }

    /// Plans and applies under the apply lease, in one transaction. `show` sees the plan
    /// first; `approve` may still say no (a terminal's confirmation).
    public func apply(
        _ config: UnvalidatedConfig, store: any StateBackend, box: SecretBox, options: ApplyOptions,
        show: (Outcome) -> Void = { _ in }, approve: (Outcome) async throws -> Bool = { _ in true }
    ) async throws -> Applied {
        // The lease comes first, as Terraform's lock does: the plan is made, shown,
        // confirmed and written with no other apply in between.
        let leaseNote: String?
        do {
            leaseNote = try await store.acquireLease(options.lease)
        } catch {
            return Applied(outcome: nil, result: .refused(code: error.code.rawValue, message: error.message))
        }
        var applied: Applied
        do {
            let outcome = try await plan(config, store: store, box: box)
            try await store.recordLeaseCommit(outcome.plan.source.commit, owner: options.lease.owner)
            show(outcome)
            applied = try await apply(outcome, store: store, options: options, note: leaseNote, approve: approve)
            if case .applied = applied.result, let leaseNote { applied.notices.append("scepops: \(leaseNote)") }
        } catch let error as StoreError {
            applied = Applied(outcome: nil, result: .refused(code: error.code.rawValue, message: error.message))
        } catch {
            try? await store.releaseLease(owner: options.lease.owner)
            throw error
        }
        try? await store.releaseLease(owner: options.lease.owner)
        return applied
    }

    private func apply(
        _ outcome: Outcome, store: any StateBackend, options: ApplyOptions, note: String?,
        approve: (Outcome) async throws -> Bool
    ) async throws -> Applied {
        let plan = outcome.plan
        guard !plan.hasErrors, let desired = outcome.desired, let binding = outcome.binding else {
            return Applied(outcome: outcome, result: .invalid)
        }
        var notices: [String] = []
        // Nothing is written from a secret that was never read.
        if options.reviewed?.uncheckedSecrets == true || desired.hasUncheckedSecrets {
            let message =
                "the plan was made with --without-secrets: it checked no secret, so it can never be applied. Nothing was applied; plan again with the secrets"
            return Applied(outcome: outcome, result: .refused(code: DiagnosticCode.planWithoutSecrets.rawValue, message: message))
        }
        if let reviewed = options.reviewed {
            switch SavedPlanCheck.decide(saved: reviewed, now: binding) {
            case .stale(let because):
                guard let sameChanges = options.sameChanges else {
                    let message = "the saved plan is stale: \(because). Nothing was applied; plan again."
                    return Applied(outcome: outcome, result: .refused(code: StoreError.Code.stalePlan.rawValue, message: message))
                }
                // What was reviewed is already there (applied by someone else): nothing unreviewed is applied.
                if !plan.hasChanges {
                    notices.append("scepops: the reviewed plan is stale, and the state is already as the config wants it")
                    return Applied(outcome: outcome, result: .noChanges, notices: notices)
                }
                if let difference = SavedPlanCheck.changeDifference(reviewed: sameChanges, now: outcome.document().changes) {
                    return Applied(
                        outcome: outcome,
                        result: .refused(
                            code: DiagnosticCode.reviewedChangesDiffer.rawValue,
                            message:
                                "the saved plan is stale: \(because), and planning again gives other changes than the reviewed ones: \(difference). Nothing was applied; review a new plan."))
                }
                notices.append(
                    "scepops: the reviewed plan is stale, but planning again gives exactly its \(sameChanges.count) change(s): applying those")
            case .applies(let notice):
                if let notice { notices.append(notice) }
            }
        }
        guard plan.hasChanges else { return Applied(outcome: outcome, result: .noChanges, notices: notices) }
        if !outcome.emptied.isEmpty, !options.allowDestroy {
            let message =
                "the plan deletes every \(outcome.emptied.map(\.rawValue).joined(separator: ", ")) in the state. Nothing was applied. Check --repo; pass --allow-destroy if this is meant"
            return Applied(outcome: outcome, result: .refused(code: DiagnosticCode.destroysEverything.rawValue, message: message), notices: notices)
        }
        guard try await approve(outcome) else { return Applied(outcome: outcome, result: .cancelled, notices: notices) }

        let request = ApplyRequest(
            plan: plan, desired: desired, certificates: outcome.certificates, planHash: binding.planHash, actor: options.actor,
            version: SCEPOpsVersion.current, note: note)
        do throws(StoreError) {
            let record = try await store.apply(request)
            return Applied(outcome: outcome, result: .applied(record), notices: notices)
        } catch {
            if error.code != .stalePlan { try? await store.recordFailure(request, detail: error.message) }
            return Applied(outcome: outcome, result: .refused(code: error.code.rawValue, message: error.message), notices: notices)
        }
    }

    /// GetCACert against each CA that is new or has a new URL (Fleet checks on every
    /// add and URL edit). A failure is a diagnostic naming the CA's file.
    private func checkCertificateAuthorities(_ outcome: inout Outcome) async {
        let targets = outcome.plan.changes.indices.filter { index in
            let change = outcome.plan.changes[index]
            return change.kind == .certificateAuthority
                && (change.action == .create || change.action == .replace
                    || change.fields.contains { $0.path == "url" })
        }
        guard !targets.isEmpty, checksNewCAs else { return }
        guard !caCheck.offline else {
            outcome.caCheckNote = "CA check skipped (--offline): \(targets.count) CA URL(s) not checked with GetCACert"
            return
        }
        let urls = Dictionary(
            uniqueKeysWithValues: (outcome.desired?.certificateAuthorities ?? []).map { ($0.name, ($0.url, $0.file)) })
        let client = SCEPHTTPClient.makeHTTPClient()
        let check = CACertificateCheck(client: client, timeout: .seconds(Int64(caCheck.timeout)))
        var checked = 0
        for index in targets {
            let name = outcome.plan.changes[index].name
            guard let (url, file) = urls[name] else { continue }
            switch await check.fetch(url) {
            case .success(let certificate):
                outcome.plan.changes[index].caCertificate = certificate.summary
                outcome.certificates[name] = certificate
                checked += 1
            case .failure(let failure):
                outcome.plan.diagnostics.append(
                    .error(
                        .caUnreachable, file: file,
                        "Invalid SCEP URL. Please correct and try again. Certificate authority \"\(name)\": \(failure.message)"))
            }
        }
        try? await client.shutdown()
        outcome.caCheckNote = "CA check: GetCACert answered for \(checked) of \(targets.count) new or changed CA URL(s)"
    }
}
