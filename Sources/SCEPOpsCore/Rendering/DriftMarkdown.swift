/// `scepops drift` as markdown, for the issue a scheduled CI job opens or updates.
public enum DriftMarkdown {
    public static func render(_ report: DriftReport) -> String {
        var out = "### scepops drift\n\n"
        out += "Source: `\(PlanMarkdown.escape(PlanSummary.source(report.source)))`\n\n"
        out += "**\(PlanMarkdown.escape(DriftWording.summary(report)))**\n"
        for diagnostic in report.diagnostics {
            out += "\n- \(PlanMarkdown.escape(ValidationReport.line(diagnostic)))"
        }
        for category in DriftFinding.Category.allCases {
            let entries = report.reported.filter { $0.finding.category == category }
            guard !entries.isEmpty else { continue }
            out += "\n#### \(PlanMarkdown.escape(DriftWording.heading(category)))\n\n"
            out += "| Finding | Subject | Detail | Fingerprint |\n|---|---|---|---|\n"
            for entry in entries { out += row(entry.finding, extra: nil) }
        }
        if !report.ignored.isEmpty {
            out += "\n<details><summary>Ignored (\(report.ignored.count))</summary>\n\n"
            out += "| Finding | Subject | Detail | Fingerprint |\n|---|---|---|---|\n"
            for entry in report.ignored { out += row(entry.finding, extra: DriftWording.ignored(entry)) }
            out += "\n</details>\n"
        }
        let notes = DriftText.notes(report)
        if !notes.isEmpty { out += "\n" + notes.map { "> " + PlanMarkdown.escape($0) }.joined(separator: "\n") + "\n" }
        return out
    }

    private static func row(_ finding: DriftFinding, extra: String?) -> String {
        let detail = finding.message + (extra.map { " (\($0))" } ?? "")
        return "| \(finding.kind.rawValue) | \(PlanMarkdown.escape(finding.subject)) | \(PlanMarkdown.escape(detail)) | `\(finding.fingerprint)` |\n"
    }
}
