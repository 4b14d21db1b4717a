/// The Terraform-like rendering of a plan for a terminal or a CI log.
public enum PlanText {
    public static func render(_ plan: Plan, caCheck: String? = nil) -> String {
        var lines: [String] = []
        lines.append("scepops plan: \(PlanSummary.source(plan.source)), against state revision \(plan.stateRevision)")
        if let caCheck { lines.append(caCheck) }
        for diagnostic in plan.diagnostics { lines.append(ValidationReport.line(diagnostic)) }
        if plan.hasErrors {
            lines.append("")
            lines.append("Plan failed: \(plan.diagnostics.errorCount) error(s). Nothing would change.")
            return TextLines.render(lines)
        }
        guard plan.hasChanges else {
            lines.append("")
            lines.append("No changes. The state matches the config (\(PlanSummary.unchangedCount(plan)) unchanged).")
            return TextLines.render(lines)
        }
        let deletions = plan.changes.filter { $0.action == .delete || $0.action == .replace }
        if !deletions.isEmpty {
            lines.append("")
            lines.append("! \(deletions.count) deletion(s) or replacement(s):")
            for change in deletions {
                lines.append("!   \(symbol(change.action)) \(change.kind.rawValue) \"\(change.name)\"\(hosts(change))")
            }
        }
        lines.append("")
        lines.append("scepops will make these changes, in this order:")
        for change in plan.changes {
            lines.append("")
            var head = "\(pad(change.order)) \(symbol(change.action)) \(change.kind.rawValue) \"\(change.name)\""
            if let previous = change.previousName { head += " (was \"\(previous)\")" }
            if let file = change.file { head += "  [\(file)]" }
            lines.append(head)
            for field in change.fields { lines.append("       " + describe(field)) }
            if let certificate = change.caCertificate {
                lines.append("       CA certificate: \(certificate.subject), SHA-256 \(certificate.fingerprint), expires \(certificate.notAfter)")
            }
            if change.hostsAffected > 0 { lines.append("       hosts affected: \(change.hostsAffected)") }
            if let reason = change.reason { lines.append("       # \(reason)") }
        }
        lines.append("")
        lines.append(PlanSummary.line(plan))
        return TextLines.render(lines)
    }

    static func symbol(_ action: PlannedChange.Action) -> String {
        switch action {
        case .create: "+"
        case .update: "~"
        case .delete: "-"
        case .replace: "-/+"
        }
    }

    static func describe(_ field: FieldChange) -> String {
        if field.sensitive { return "~ \(field.path): \(FieldChange.sensitiveText)" }
        switch (field.before, field.after) {
        case (nil, let after?): return "+ \(field.path): \(after)"
        case (let before?, nil): return "- \(field.path): \(before)"
        case (let before?, let after?): return "~ \(field.path): \(before) → \(after)"
        case (nil, nil): return "~ \(field.path)"
        }
    }

    private static func hosts(_ change: PlannedChange) -> String {
        change.hostsAffected > 0 ? " (\(change.hostsAffected) hosts)" : ""
    }

    private static func pad(_ order: Int) -> String {
        let text = String(order)
        return String(repeating: " ", count: max(0, 4 - text.count)) + text
    }
}

/// Wording that the text and markdown renderings share.
enum PlanSummary {
    static func source(_ source: ConfigSource) -> String {
        switch source.kind {
        case .commit:
            return "\(source.repository) at \(source.ref ?? "?") (\(source.commit.map { String($0.prefix(12)) } ?? "?"))"
        case .workingTree:
            guard let commit = source.commit else { return "\(source.repository) (working tree)" }
            return "\(source.repository) (working tree at \(commit.prefix(12))\(source.dirty == true ? ", with uncommitted changes" : ""))"
        }
    }

    static func unchangedCount(_ plan: Plan) -> Int {
        plan.unchanged.values.reduce(0, +)
    }

    static func line(_ plan: Plan) -> String {
        "Plan: \(plan.count(.create)) to create, \(plan.count(.update)) to update, \(plan.count(.delete)) to delete, \(plan.count(.replace)) to replace; \(unchangedCount(plan)) unchanged."
    }
}
