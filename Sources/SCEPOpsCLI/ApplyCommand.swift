import ArgumentParser
import Foundation
import SCEPOpsCore
import SCEPOpsServer
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

            Examples:
              scepops apply --repo . --auto-approve
              scepops plan --repo . --out plan.bin && scepops apply plan.bin
              scepops apply --server https://scepops.example.com:8443 plan.bin
            """
    )

    @OptionGroup var repo: RepoOptions
    @OptionGroup var state: StateOptions
    @OptionGroup var caCheck: CACheckOptions

    @Flag(help: "Apply without asking for confirmation.")
    var autoApprove = false

    @Flag(help: "Apply a plan that deletes every CA, every team or every profile in the state (refused otherwise).")
    var allowDestroy = false

    @Option(help: "How long to wait for another apply's lock before giving up.")
    var lockTimeout: DurationArgument = .seconds(0)

    @Option(help: "After how long an apply's lock counts as abandoned.")
    var lockTTL: DurationArgument = .seconds(900)

    @Argument(help: "A plan saved with `scepops plan --out`.")
    var planFile: String?

    @Flag(help: "With PLANFILE: when it is stale, plan again and apply only if the changes are exactly the plan file's (error[reviewed-changes-differ] otherwise). For the merge of a reviewed pull request.")
    var sameChanges = false

    func validate() throws {
        if sameChanges, planFile == nil { throw ValidationError("--same-changes goes with a PLANFILE: the plan that was reviewed") }
    }

    @OptionGroup var remote: RemoteOptions

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let reconciliation = Reconciliation(repo: repo, state: state, caCheck: caCheck, environment: environment)
        let saved = try planFile.map(Self.readPlanFile)
        if remote.url != nil { return try await applyRemotely(reconciliation, saved: saved) }
        let opened: Reconciliation.Opened
        do {
            opened = try await reconciliation.open(create: true)
        } catch {
            Output.error("error[\(error.code.rawValue)]: \(error.message)")
            throw ExitStatus.failure
        }
        guard let store = opened.store else { throw ExitStatus.failure }
        let actor = Actor.current(environment)
        let host = ProcessInfo.processInfo.hostName
        let lease = Lease(
            owner: "\(actor)@\(host):\(getpid())", host: host, pid: getpid(), commit: nil, ttl: lockTTL.seconds, wait: lockTimeout.seconds)
        let applied: Reconciler.Applied
        do {
            applied = try await reconciliation.reconciler.apply(
                reconciliation.config(), store: store, box: opened.box,
                options: .init(
                    reviewed: saved?.binding, sameChanges: sameChanges ? saved?.changes : nil, allowDestroy: allowDestroy,
                    actor: actor, lease: lease),
                show: { Output.write(PlanReport.render($0, .text)) },
                approve: { _ in try saved != nil || autoApprove || Self.confirm() })
        } catch {
            opened.removeIfCreated(state.path)
            throw error
        }
        // A first run that did not apply leaves no state and no key behind.
        if !applied.succeeded { opened.removeIfCreated(state.path) }
        let record = applied.result.record.map { (id: $0.id, revision: (applied.outcome?.plan.stateRevision ?? 0) + 1) }
        try Self.report(
            applied.result.refusal, notices: applied.notices, summary: applied.outcome?.document().summary, record: record,
            failed: !applied.succeeded)
    }

    /// Remote mode: the server plans and applies. Without a plan file or --auto-approve,
    /// the plan is shown first and applied, once confirmed, only as it was shown.
    private func applyRemotely(_ reconciliation: Reconciliation, saved: PlanDocument?) async throws {
        let read = reconciliation.config()
        let config = ConfigUpload(read, embedsContent: false)
        let caCheck = reconciliation.reconciler.caCheck
        var reviewed = saved?.binding
        var shown = false
        if saved == nil, !autoApprove {
            let planned = try await remote.post(
                "/v1/plan", AdminWire.PlanCall(config: config, caCheck: caCheck, format: .text), config: read, as: AdminWire.PlanAnswer.self)
            Output.write(planned.rendered)
            if planned.plan.hasErrors { throw ExitStatus.failure }
            if planned.plan.changes.isEmpty { return }
            if !(try Self.confirm()) { try Self.report(Reconciler.Applied.Result.cancelled.refusal, failed: true) }
            reviewed = planned.plan.binding
            shown = true
        }
        let call = AdminWire.ApplyCall(
            config: config, caCheck: caCheck, reviewed: reviewed, sameChanges: sameChanges ? saved?.changes : nil,
            allowDestroy: allowDestroy,
            actor: Actor.current(ProcessInfo.processInfo.environment), lockTimeout: lockTimeout.seconds, lockTTL: lockTTL.seconds)
        let answer = try await remote.post("/v1/apply", call, config: read, accepted: [200, 409, 422, 503], as: AdminWire.ApplyAnswer.self)
        if !shown, let rendered = answer.rendered { Output.write(rendered) }
        let refusal = answer.error.map { (code: $0.code, message: $0.message) }
        try Self.report(
            refusal, notices: answer.notices, summary: answer.plan?.summary, record: answer.apply.map { ($0.id, $0.stateRevision) },
            failed: answer.result == .invalid || answer.result == .refused)
    }

    /// What follows the plan, in both modes: a refusal, the notices, the last line.
    private static func report(
        _ refusal: (code: String, message: String)?, notices: [String] = [], summary: PlanDocument.Summary? = nil,
        record: (id: Int64, revision: Int)? = nil, failed: Bool
    ) throws {
        if let refusal {
            // Terraform's words for a "no" at the prompt; every other refusal has its code.
            Output.error(refusal.code == "cancelled" ? refusal.message : "error[\(refusal.code)]: \(refusal.message)")
        }
        for notice in notices { Output.error(notice) }
        if let record, let summary { Output.write(PlanReport.applied(summary, id: record.id, stateRevision: record.revision)) }
        if failed { throw ExitStatus.failure }
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
