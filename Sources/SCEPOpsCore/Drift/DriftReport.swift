import Foundation

/// The findings of one drift run with the ignore rules and the previous run applied, and
/// the exit code they give (docs/contract.md §3).
public struct DriftReport: Sendable {
    public struct Entry: Sendable, Hashable {
        public var finding: DriftFinding
        /// The rule that hides it, and the whole days it still holds.
        public var ignoredBy: DriftIgnoreRule?
        public var daysLeft: Int?
        /// Against `--since`: false when the previous run reported it too; nil without it.
        public var isNew: Bool?

        /// Counted for the exit code and listed as drift.
        public var isReported: Bool { ignoredBy == nil && isNew != false }
    }

    public var source: ConfigSource
    public var entries: [Entry]
    /// Rules whose date has passed: their findings show again.
    public var expiredRules: [DriftIgnoreRule]
    public var notes: [String]
    public var diagnostics: [Diagnostic]

    public init(
        source: ConfigSource, findings: [DriftFinding], rules: [DriftIgnoreRule] = [], since: Set<String>? = nil,
        notes: [String] = [], diagnostics: [Diagnostic] = [], now: Date
    ) {
        self.source = source
        self.notes = notes
        self.diagnostics = diagnostics
        let active = rules.filter { ($0.daysLeft(now: now) ?? -1) >= 0 }
        expiredRules = rules.filter { ($0.daysLeft(now: now) ?? -1) < 0 }
        entries = findings.sorted().map { finding in
            let rule = active.first { $0.matches(finding) }
            return Entry(
                finding: finding, ignoredBy: rule, daysLeft: rule?.daysLeft(now: now),
                isNew: since.map { !$0.contains(finding.fingerprint) })
        }
    }

    public var reported: [Entry] { entries.filter(\.isReported) }
    public var ignored: [Entry] { entries.filter { $0.ignoredBy != nil } }
    /// Reported before (`--since`) and not ignored.
    public var unchanged: [Entry] { entries.filter { $0.ignoredBy == nil && $0.isNew == false } }

    public var unappliedCount: Int { reported.count { $0.finding.category == .unapplied } }
    public var driftCount: Int { reported.count { $0.finding.category != .unapplied } }

    /// 0 clean, 2 unapplied git changes, 3 drift between the state and the hosts or CAs,
    /// 4 both; 1 when a diagnostic error (config or ignore file) stopped the comparison.
    public var exitCode: Int32 {
        if diagnostics.hasErrors { return 1 }
        return switch (unappliedCount > 0, driftCount > 0) {
        case (false, false): 0
        case (true, false): 2
        case (false, true): 3
        case (true, true): 4
        }
    }
}
