import ArgumentParser
import Foundation
import SCEPOpsCore
import SCEPOpsStore

/// `scepops apply`: plans and applies in one step, or applies a saved plan exactly.
/// Everything is one transaction: it all lands, or the state stays as it was.
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Apply the config to the state, atomically.",
        discussion: """
            Without PLANFILE it plans and asks for confirmation on a terminal (--auto-approve skips it). With PLANFILE \
            it applies exactly that plan, and refuses (error[stale-plan], exit 1) if the config, a secret or the state \
            changed since. A new commit with the same config (a merge of the reviewed one) is not a change.
            """
    )

    @OptionGroup var repo: RepoOptions
    @OptionGroup var state: StateOptions
    @OptionGroup var caCheck: CACheckOptions

    @Flag(help: "Apply without asking for confirmation.")
    var autoApprove = false

    @Flag(help: "Apply a plan that deletes every CA, every team or every profile in the state (refused otherwise).")
    var allowDestroy = false

    @Option(help: "Seconds to wait for another apply's lock before giving up.")
    var lockTimeout: Double = 0

    @Option(help: "Seconds after which an apply's lock counts as abandoned.")
    var lockTTL: Double = 900

    @Argument(help: "A plan saved with `scepops plan --out`.")
    var planFile: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let reconciliation = Reconciliation(repo: repo, state: state, caCheck: caCheck, environment: environment)
        let saved = try planFile.map(Self.readPlanFile)
        let opened: Reconciliation.Opened
        do {
            opened = try await reconciliation.open(create: true)
        } catch {
            Output.error("error[\(error.code.rawValue)]: \(error.message)")
            throw ExitStatus.failure
        }
        do {
            guard let store = opened.store else { throw ExitStatus.failure }
            // The lease comes first, as Terraform's lock does: the plan is made, shown,
            // confirmed and written with no other apply in between.
            let actor = Actor.current(environment)
            let host = ProcessInfo.processInfo.hostName
            let lease = Lease(
                owner: "\(actor)@\(host):\(getpid())", host: host, pid: getpid(), commit: nil, ttl: lockTTL,
                wait: lockTimeout)
            let note = try await store.acquireLease(lease)
            do {
                let outcome = try await reconciliation.run(store: store, box: opened.box)
                try await store.recordLeaseCommit(outcome.plan.source.commit, owner: lease.owner)
                try await apply(outcome, store: store, saved: saved, actor: actor, note: note)
            } catch {
                try? await store.releaseLease(owner: lease.owner)
                throw error
            }
            try? await store.releaseLease(owner: lease.owner)
        } catch let error as StoreError {
            // A first run that did not apply leaves no state and no key behind.
            opened.removeIfCreated(state.path)
            Output.error("error[\(error.code.rawValue)]: \(error.message)")
            throw ExitStatus.failure
        } catch {
            opened.removeIfCreated(state.path)
            throw error
        }
    }

    private func apply(
        _ outcome: Reconciliation.Outcome, store: any StateBackend, saved: PlanDocument?, actor: String, note: String?
    ) async throws {
        let plan = outcome.plan
        Output.write(PlanText.render(plan, caCheck: outcome.caCheckNote))
        guard !plan.hasErrors, let desired = outcome.desired, let binding = outcome.binding else {
            throw ExitStatus.failure
        }
        if let saved { try Self.verify(saved, against: binding) }
        guard plan.hasChanges else { return }
        if !outcome.emptied.isEmpty, !allowDestroy {
            Output.error(
                "error[\(DiagnosticCode.destroysEverything.rawValue)]: the plan deletes every \(outcome.emptied.map(\.rawValue).joined(separator: ", ")) in the state. Nothing was applied. Check --repo; pass --allow-destroy if this is meant")
            throw ExitStatus.failure
        }
        if saved == nil, !autoApprove, !(try Self.confirm()) {
            Output.error("Apply cancelled; nothing was changed.")
            throw ExitStatus.failure
        }

        let request = ApplyRequest(
            plan: plan, desired: desired, certificates: outcome.certificates, planHash: binding.planHash, actor: actor,
            version: SCEPOpsVersion.current, note: note)
        let record: ApplyRecord
        do {
            record = try await store.apply(request)
        } catch {
            if error.code != .stalePlan { try? await store.recordFailure(request, detail: error.message) }
            throw error
        }
        if let note { Output.error("scepops: \(note)") }
        Output.write(
            "\nApply complete: \(plan.count(.create)) created, \(plan.count(.update)) updated, \(plan.count(.delete)) deleted, \(plan.count(.replace)) replaced (apply #\(record.id), state revision \(plan.stateRevision + 1)).\n"
        )
    }

    static func readPlanFile(_ path: String) throws -> PlanDocument {
        guard let data = FileManager.default.contents(atPath: path) else {
            Output.error("error: cannot read the plan file \(path)")
            throw ExitStatus.failure
        }
        guard let document = PlanDocument.decode([UInt8](data)), document.formatVersion == PlanDocument.formatVersion,
            document.binding != nil
        else {
            Output.error("error: \(path) is not a scepops plan file (format_version \(PlanDocument.formatVersion), from `scepops plan --out`)")
            throw ExitStatus.failure
        }
        return document
    }

    /// A saved plan is applied only if everything it was made from is still so.
    static func verify(_ saved: PlanDocument, against now: PlanDocument.Binding) throws {
        let was = saved.binding!
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
            Output.error("error[stale-plan]: the saved plan is stale: \(problems.joined(separator: "; ")). Nothing was applied; plan again.")
            throw ExitStatus.failure
        }
        if was.commit != now.commit {
            Output.error(
                "scepops: the plan was made at commit \(was.commit ?? "(none)"); \(now.commit ?? "(none)") has the same config, so it applies as reviewed")
        }
    }

    /// Terraform's question: only "yes" applies. Off a terminal, --auto-approve is required.
    static func confirm() throws -> Bool {
        guard isatty(STDIN_FILENO) == 1 else {
            Output.error("error: apply asks for confirmation on a terminal; pass --auto-approve to apply without it")
            throw ExitStatus.failure
        }
        Output.write("\nDo you want to apply these changes? Only 'yes' will be accepted: ")
        return readLine()?.trimmingCharacters(in: .whitespaces) == "yes"
    }
}
