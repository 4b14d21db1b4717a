/// `scepops drift` as markdown, for the issue a scheduled CI job opens or updates, within
/// the plan comment's budget: GitHub refuses an issue body over 65,536 characters, and a
/// drift job must not fail for that.
public enum DriftMarkdown {
    public static func render(_ report: DriftReport, budget: Int = PlanMarkdown.budget) -> String {
        var out = "### scepops drift\n\n"
        out += "Source: `\(PlanMarkdown.escape(PlanSummary.source(report.source)))`\n\n"
        out += "**\(PlanMarkdown.escape(DriftWording.summary(report)))**\n"
        for diagnostic in report.diagnostics {
            out += "\n- \(PlanMarkdown.escape(ValidationReport.line(diagnostic)))"
        }
        let notes = DriftText.notes(report)
        let tail = notes.isEmpty ? "" : "\n" + notes.map { "> " + PlanMarkdown.escape($0) }.joined(separator: "\n") + "\n"
        let reported = report.reported
        var shown = 0
        func cut() -> String {
            "\n_… \(reported.count - shown) more finding(s) not shown: the issue is limited to \(budget) characters. `scepops drift --format json` has them all._\n"
        }
        for category in DriftFinding.Category.allCases {
            let entries = reported.filter { $0.finding.category == category }
            guard !entries.isEmpty else { continue }
            out += "\n#### \(PlanMarkdown.escape(DriftWording.heading(category)))\n"
            for group in DriftWording.groups(entries) {
                let heading = (group.title.map { "\n**\(PlanMarkdown.escape($0))**\n" } ?? "")
                    + "\n| Finding | Subject | Detail | Fingerprint |\n|---|---|---|---|\n"
                guard out.count + heading.count + cut().count + tail.count <= budget else { return out + cut() + tail }
                out += heading
                for entry in group.entries {
                    let line = row(entry.finding, extra: nil)
                    // Room stays for the cut's note and the notes.
                    guard out.count + line.count + cut().count + tail.count <= budget else { return out + cut() + tail }
                    out += line
                    shown += 1
                }
            }
        }
        if !report.ignored.isEmpty {
            out += "\n<details><summary>Ignored (\(report.ignored.count))</summary>\n\n"
            out += "| Finding | Subject | Detail | Fingerprint |\n|---|---|---|---|\n"
            for (index, entry) in report.ignored.enumerated() {
                let line = row(entry.finding, extra: DriftWording.ignored(entry))
                guard out.count + line.count + 200 + tail.count <= budget else {
                    out += "\n_… \(report.ignored.count - index) more ignored finding(s) not shown._\n"
                    break
                }
                out += line
            }
            out += "\n</details>\n"
        }
        return out + tail
    }

    private static func row(_ finding: DriftFinding, extra: String?) -> String {
        let detail = finding.message + (extra.map { " (\($0))" } ?? "")
        return "| \(finding.kind.rawValue) | \(PlanMarkdown.escape(finding.subject)) | \(PlanMarkdown.escape(detail)) | `\(finding.fingerprint)` |\n"
    }
}
