import ArgumentParser
import Foundation
import SCEPOpsCore
import SCEPOpsStore

/// `scepops plan`: what apply would change, in order, without changing anything.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show the ordered changes that apply would make.",
        discussion: """
            Exits 0 when the plan succeeds, 1 on an error. With --detailed-exitcode, 2 when there are changes.
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

    func run() async throws {
        let reconciliation = Reconciliation(
            repo: repo, state: state, caCheck: caCheck, environment: ProcessInfo.processInfo.environment)
        let outcome: Reconciliation.Outcome
        do {
            let opened = try await reconciliation.open(create: false)
            outcome = try await reconciliation.run(store: opened.store, box: opened.box)
        } catch {
            Output.error("error[\(error.code.rawValue)]: \(error.message)")
            throw ExitStatus.failure
        }
        let plan = outcome.plan
        switch format {
        case .text: Output.write(PlanText.render(plan, caCheck: outcome.caCheckNote))
        case .markdown: Output.write(PlanMarkdown.render(plan, caCheck: outcome.caCheckNote))
        case .json: Output.write(PlanDocument(plan, caCheck: outcome.caCheckNote).json())
        }
        if plan.hasErrors { throw ExitStatus.failure }
        if let out, let binding = outcome.binding {
            do {
                try Self.save(PlanDocument(plan, caCheck: outcome.caCheckNote, binding: binding).json(), to: out)
            } catch {
                Output.error("error: cannot write the plan file \(out): \(error.localizedDescription)")
                throw ExitStatus.failure
            }
            Output.error("Saved the plan to \(out). Apply exactly this plan with: scepops apply \(out)")
        }
        if detailedExitcode, plan.hasChanges { throw ExitStatus.changesPending }
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
