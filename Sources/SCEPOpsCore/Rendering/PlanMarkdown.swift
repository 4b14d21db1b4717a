/// The plan as a pull-request comment: a summary table, deletions pinned at the top, and
/// each change in a collapsible block, within a size budget that GitHub's comment limit
/// (65,536) leaves room around.
public enum PlanMarkdown {
    public static let budget = 60_000

    public static func render(_ plan: Plan, caCheck: String? = nil, budget: Int = budget) -> String {
        var head: [String] = []
        let title =
            plan.hasErrors
            ? "❌ scepops plan failed: \(plan.diagnostics.errorCount) error(s)"
            : plan.hasChanges ? "scepops plan: \(summaryWords(plan))" : "scepops plan: no changes"
        head.append("### \(title)")
        head.append("")
        head.append("Source: \(escape(PlanSummary.source(plan.source))) · state revision \(plan.stateRevision)" + (caCheck.map { " · \(escape($0))" } ?? ""))
        if !plan.diagnostics.isEmpty {
            head.append("")
            for diagnostic in plan.diagnostics {
                head.append("- **\(diagnostic.severity.rawValue)** `\(diagnostic.code.rawValue)` \(escape(location(diagnostic))): \(escape(diagnostic.message))")
            }
        }
        if plan.hasChanges, !plan.hasErrors {
            head.append("")
            head.append("| | create | update | delete | replace |")
            head.append("|---|---:|---:|---:|---:|")
            for kind in PlannedChange.Kind.allCases {
                let counts = PlannedChange.Action.allCases.map { action in
                    plan.changes.count { $0.kind == kind && $0.action == action }
                }
                head.append("| \(label(kind)) | " + counts.map(String.init).joined(separator: " | ") + " |")
            }
            let deletions = plan.changes.filter { $0.action == .delete || $0.action == .replace }
            if !deletions.isEmpty {
                head.append("")
                head.append("> [!WARNING]")
                head.append("> **\(deletions.count) deletion(s) or replacement(s)**")
                for change in deletions {
                    var line = "> - `\(PlanText.symbol(change.action))` \(change.kind.rawValue) **\(escape(change.name))**"
                    if change.hostsAffected > 0 { line += ": \(change.hostsAffected) host(s)" }
                    if let reason = change.reason { line += ". \(escape(reason))" }
                    head.append(line)
                }
            }
        } else if !plan.hasErrors {
            head.append("")
            head.append("The state matches the config (\(PlanSummary.unchangedCount(plan)) unchanged).")
        }

        var output = head.joined(separator: "\n") + "\n"
        guard plan.hasChanges, !plan.hasErrors else { return output }
        output += "\n"
        let footer = "\n" + PlanSummary.line(plan) + "\n"
        for (index, change) in plan.changes.enumerated() {
            let block = details(change)
            let remaining = plan.changes.count - index
            let note =
                "\n_… \(remaining) more change(s) not shown: the comment is limited to \(budget) characters. `scepops plan --format json` or the plan file has them all._\n"
            if output.count + block.count + note.count + footer.count > budget {
                output += note
                break
            }
            output += block
        }
        return output + footer
    }

    private static func details(_ change: PlannedChange) -> String {
        var summary = "\(change.order). <code>\(PlanText.symbol(change.action))</code> \(change.kind.rawValue) <b>\(escape(change.name))</b>"
        if let previous = change.previousName { summary += " (was <b>\(escape(previous))</b>)" }
        if change.hostsAffected > 0 { summary += ", \(change.hostsAffected) host(s)" }
        var body: [String] = []
        if let file = change.file { body.append("File: `\(file)`") }
        if let reason = change.reason { body.append("_\(escape(reason))_") }
        if let certificate = change.caCertificate {
            body.append("CA certificate: \(escape(certificate.subject)), SHA-256 `\(certificate.fingerprint)`, expires \(certificate.notAfter)")
        }
        if !change.fields.isEmpty {
            body.append("```diff")
            for field in change.fields {
                let text = PlanText.describe(field)
                // `diff` colours by the first character: + green, - red; ~ stays plain.
                body.append(text.replacingOccurrences(of: "```", with: "ʼʼʼ"))
            }
            body.append("```")
        }
        return "<details><summary>\(summary)</summary>\n\n" + body.joined(separator: "\n\n") + "\n</details>\n"
    }

    private static func label(_ kind: PlannedChange.Kind) -> String {
        switch kind {
        case .certificateAuthority: "certificate authorities"
        case .team: "teams"
        case .profile: "profiles"
        }
    }

    private static func summaryWords(_ plan: Plan) -> String {
        "\(plan.count(.create)) to create, \(plan.count(.update)) to update, \(plan.count(.delete)) to delete, \(plan.count(.replace)) to replace"
    }

    private static func location(_ diagnostic: Diagnostic) -> String {
        var location = diagnostic.file ?? "repository"
        if let position = diagnostic.position { location += ":\(position.line)" }
        return location
    }

    /// Names come from the repo: nothing in them may open HTML or break a table.
    public static func escape(_ text: String) -> String {
        var out = ""
        for character in TextLines.escape(text) {
            switch character {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "|": out += "\\|"
            case "`": out += "ʼ"
            case "*", "_", "[", "]": out += "\\" + String(character)
            default: out.append(character)
            }
        }
        return out
    }
}
