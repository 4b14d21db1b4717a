import ArgumentParser
import Foundation
import SCEPOpsCore
import SCEPOpsServer
import SCEPOpsStore

/// `scepops plan`: what apply would change, in order, without changing anything.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show the ordered changes that apply would make.",
        discussion: """
            Exits 0 when the plan succeeds, 1 on an error. With --detailed-exitcode, 2 when there are changes.

            Examples:
              scepops plan --repo .
              scepops plan --repo . --ref origin/main --format markdown > comment.md
              scepops plan --repo . --out plan.bin --detailed-exitcode
            """
    )

    @OptionGroup var repo: RepoOptions
    @OptionGroup var state: StateOptions
    @OptionGroup var caCheck: CACheckOptions

    @Option(help: "Output format.")
    var format: ReportFormat = .text

    @Option(help: "Save the plan to this file, for `scepops apply PLANFILE`. It holds no secret.")
    var out: String?

    @Flag(help: "Exit 2 when there are changes (0: none, 1: error).")
    var detailedExitcode = false

    @Flag(help: "Read no secret (for a pull request from a fork): each secret field is left unchecked and says so, and the plan file can never be applied.")
    var withoutSecrets = false

    @OptionGroup var remote: RemoteOptions

    func run() async throws {
        var reconciliation = Reconciliation(
            repo: repo, state: state, caCheck: caCheck, environment: ProcessInfo.processInfo.environment)
        reconciliation.readsSecrets = !withoutSecrets
        let document: PlanDocument
        if remote.url != nil {
            let read = reconciliation.config()
            let call = AdminWire.PlanCall(
                config: ConfigUpload(read, embedsContent: false), caCheck: reconciliation.reconciler.caCheck, format: format)
            let answer = try await remote.post("/v1/plan", call, config: read, as: AdminWire.PlanAnswer.self)
            Output.write(answer.rendered)
            document = answer.plan
        } else {
            let outcome: Reconciliation.Outcome
            do {
                let opened = try await reconciliation.open(create: false, keepsKey: out != nil && !withoutSecrets)
                outcome = try await reconciliation.run(store: opened.store, box: opened.box)
            } catch {
                Output.error("error[\(error.code.rawValue)]: \(error.message)")
                throw ExitStatus.failure
            }
            Output.write(PlanReport.render(outcome, format))
            document = outcome.document(bound: true)
        }
        if document.hasErrors { throw ExitStatus.failure }
        if let out, document.binding != nil {
            do {
                try Self.save(document.json(), to: out)
            } catch {
                Output.error("error: cannot write the plan file \(out): \(error.localizedDescription)")
                throw ExitStatus.failure
            }
            Output.error(
                withoutSecrets
                    ? "Saved the plan to \(out), for review only: made with --without-secrets, it can never be applied."
                    : "Saved the plan to \(out). Apply exactly this plan with: \(applyHint(out))")
        }
        if detailedExitcode, !document.changes.isEmpty { throw ExitStatus.changesPending }
    }

    /// The apply that takes this plan: the same repo, ref, state and key as this plan read
    /// (a database password masked), each word quoted for a shell.
    func applyHint(_ out: String) -> String {
        var words = ["scepops", "apply"]
        if repo.repo != "." { words += ["--repo", repo.repo] }
        if let ref = repo.ref { words += ["--ref", ref] }
        if let server = remote.server { words += ["--server", server] }
        if let serverCA = remote.serverCA { words += ["--server-ca", serverCA] }
        if remote.url == nil {
            if state.db != nil { words += ["--db", state.shown] }
            if let keyFile = state.keyFile { words += ["--key-file", keyFile] }
        }
        return (words + [out]).map(ShellWord.quoted).joined(separator: " ")
    }

    /// Written to a temporary file and renamed: a reader never sees half a plan.
    static func save(_ text: String, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
        if rename(temporary, path) != 0 {
            unlink(temporary)
            throw CocoaError(.fileWriteUnknown)
        }
    }
}
