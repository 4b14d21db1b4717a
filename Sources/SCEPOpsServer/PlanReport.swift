import SCEPOpsCore
import SCEPOpsStore

/// What plan and apply print, in local and remote mode alike.
public enum PlanReport {
    public static func render(_ outcome: Reconciler.Outcome, _ format: ReportFormat) -> String {
        switch format {
        case .text: PlanText.render(outcome.plan, caCheck: outcome.caCheckNote)
        case .markdown: PlanMarkdown.render(outcome.plan, caCheck: outcome.caCheckNote)
        case .json: outcome.document().json()
        }
    }

    /// The last line of an apply that wrote the state.
    public static func applied(_ summary: PlanDocument.Summary, id: Int64, stateRevision: Int) -> String {
        "\nApply complete: \(summary.create) created, \(summary.update) updated, \(summary.delete) deleted, \(summary.replace) replaced (apply #\(id), state revision \(stateRevision)).\n"
    }
}
