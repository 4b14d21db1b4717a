/// `scepops drift` as text: one line a finding, grouped by class, then what was ignored.
public enum DriftText {
    public static func render(_ report: DriftReport) -> String {
        var lines = ["Drift check of \(PlanSummary.source(report.source))"]
        lines += report.diagnostics.map(ValidationReport.line)
        lines.append(DriftWording.summary(report))
        for category in DriftFinding.Category.allCases {
            let entries = report.reported.filter { $0.finding.category == category }
            guard !entries.isEmpty else { continue }
            lines.append("")
            lines.append(DriftWording.heading(category) + ":")
            for group in DriftWording.groups(entries) {
                if let title = group.title { lines.append("  " + title + ":") }
                for entry in group.entries { lines.append((group.title == nil ? "  " : "    ") + line(entry.finding)) }
            }
        }
        if !report.ignored.isEmpty {
            lines.append("")
            lines.append("Ignored:")
            for entry in report.ignored {
                lines.append("  " + line(entry.finding) + " -- " + DriftWording.ignored(entry))
            }
        }
        lines += notes(report).map { "note: " + $0 }
        return TextLines.render(lines)
    }

    static func line(_ finding: DriftFinding) -> String {
        "[\(finding.fingerprint)] \(finding.kind.rawValue) \(finding.subject): \(finding.message)"
    }

    static func notes(_ report: DriftReport) -> [String] {
        var notes = report.notes
        for rule in report.expiredRules {
            notes.append("the ignore rule at \(rule.file):\(rule.line) expired on \(rule.until); it no longer hides anything")
        }
        if !report.unchanged.isEmpty {
            notes.append("\(report.unchanged.count) finding(s) were already reported in the --since file and are not repeated")
        }
        return notes
    }
}

/// Wording that the text and markdown renderings share.
enum DriftWording {
    static func heading(_ category: DriftFinding.Category) -> String {
        switch category {
        case .unapplied: "Unapplied git changes (what `scepops apply` would do)"
        case .host: "State against hosts"
        case .certificateAuthority: "Certificate authorities"
        }
    }

    static func summary(_ report: DriftReport) -> String {
        if report.diagnostics.hasErrors {
            return "Drift check failed: \(report.diagnostics.errorCount) error(s); nothing was compared."
        }
        guard report.exitCode != 0 else {
            // With --since, what was reported before still stands: it is not "no drift".
            guard report.unchanged.isEmpty else {
                return "No new drift (\(report.unchanged.count) already reported)"
                    + (report.ignored.isEmpty ? "." : "; \(report.ignored.count) finding(s) ignored.")
            }
            return "No drift: git, the state, the hosts and the CAs agree"
                + (report.ignored.isEmpty ? "." : " (\(report.ignored.count) finding(s) ignored).")
        }
        return "Drift: \(report.unappliedCount) unapplied change(s), \(report.driftCount) drift finding(s), \(report.ignored.count) ignored."
    }

    /// Findings by kind, then by team (hosts' findings), each group headed by what it holds
    /// and how many; a category with one kind and no teams needs no heading.
    static func groups(_ entries: [DriftReport.Entry]) -> [(title: String?, entries: [DriftReport.Entry])] {
        var order: [String] = []
        var byKey: [String: [DriftReport.Entry]] = [:]
        for entry in entries {
            let key = entry.finding.kind.rawValue + (entry.finding.team.map { ", team " + $0 } ?? "")
            if byKey[key] == nil { order.append(key) }
            byKey[key, default: []].append(entry)
        }
        let sorted = order.sorted()
        if sorted.count == 1, entries.allSatisfy({ $0.finding.team == nil }) { return [(nil, entries)] }
        return sorted.map { key in ("\(key) (\(byKey[key]!.count))", byKey[key]!) }
    }

    static func ignored(_ entry: DriftReport.Entry) -> String {
        let days = entry.daysLeft ?? 0
        let expiry = days == 0 ? "expires today" : "expires in \(days) day\(days == 1 ? "" : "s")"
        return "ignored (\(expiry)): \(entry.ignoredBy?.reason ?? "")"
    }
}
