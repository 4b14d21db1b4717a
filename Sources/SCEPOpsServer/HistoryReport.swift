import Foundation
import SCEPOpsCore
import SCEPOpsStore

/// Renders the applies, newest first, as text or JSON: `scepops history` and the admin API's
/// `/v1/history` give the same document.
public enum HistoryReport {
    public static func text(_ records: [ApplyRecord]) -> String {
        guard !records.isEmpty else { return "No applies yet.\n" }
        let lines = records.map { record in
            var line = "#\(record.id)  \(record.finishedAt)  \(record.result.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0))  "
            line += "\(record.commit.map { String($0.prefix(12)) } ?? "(no commit)")"
            // An apply of uncommitted files is marked beside the commit it is not.
            if record.ref == ConfigSource.uncommittedRef { line += "+uncommitted" }
            line += "  \(record.actor)  "
            line += "+\(record.counts[.create] ?? 0) ~\(record.counts[.update] ?? 0) -\(record.counts[.delete] ?? 0) -/+\(record.counts[.replace] ?? 0)"
            if let detail = record.detail { line += "  (\(detail))" }
            return line
        }
        return TextLines.render(lines)
    }

    public static func json(_ records: [ApplyRecord]) -> String {
        JSONOutput.render(["format_version": "1", "applies": records.map(record)])
    }

    /// One apply as JSON keys (`show` gives an object's last apply the same way).
    public static func record(_ record: ApplyRecord) -> [String: Any] {
        [
            "id": record.id, "commit": record.commit ?? NSNull(), "ref": record.ref ?? NSNull(), "actor": record.actor,
            "result": record.result.rawValue, "started_at": record.startedAt, "finished_at": record.finishedAt,
            "scepops_version": record.version, "plan_hash": record.planHash, "detail": record.detail ?? NSNull(),
            "counts": [
                "create": record.counts[.create] ?? 0, "update": record.counts[.update] ?? 0,
                "delete": record.counts[.delete] ?? 0, "replace": record.counts[.replace] ?? 0,
            ],
        ]
    }

    /// The newest `limit` applies (0: all), newest first.
    public static func newest(_ records: [ApplyRecord], limit: Int) -> [ApplyRecord] {
        Array(records.reversed().prefix(limit > 0 ? limit : .max))
    }
}
