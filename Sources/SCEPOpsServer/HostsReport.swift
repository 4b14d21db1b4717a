import Foundation
import SCEPOpsCore
import SCEPOpsStore

/// Renders the hosts as text or JSON: `scepops hosts` and the admin API's `/v1/hosts` give
/// the same document.
public enum HostsReport {
    /// The hosts of `team` (nil: every host).
    public static func filter(_ hosts: [HostSummary], team: String?) -> [HostSummary] {
        guard let team else { return hosts }
        return hosts.filter { $0.team == team }
    }

    /// A table, one host per line, and a count.
    public static func text(_ hosts: [HostSummary]) -> String {
        guard !hosts.isEmpty else { return "No hosts.\n" }
        // Escaped before padding: a serial is what the device said it is.
        var rows = [["SERIAL", "UDID", "TEAM", "LAST SEEN", "DELIVERIES"]]
        for host in hosts {
            let deliveries = DeliveryStatus.allCases.compactMap { status in
                host.deliveries[status].map { "\(status.rawValue) \($0)" }
            }
            rows.append([
                host.serial ?? "-", host.uuid, host.team ?? "(none)", host.lastSeen?.ISO8601Format() ?? "never",
                deliveries.isEmpty ? "-" : deliveries.joined(separator: ", "),
            ].map(TextLines.escape))
        }
        let widths = (0..<5).map { column in rows.map { $0[column].count }.max()! }
        var lines = rows.map { row in
            zip(row, widths).enumerated().map { index, cell in
                index == row.count - 1 ? cell.0 : cell.0.padding(toLength: cell.1, withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        lines.append("\(hosts.count) host\(hosts.count == 1 ? "" : "s")")
        return lines.joined(separator: "\n") + "\n"
    }

    public static func json(_ hosts: [HostSummary]) -> String {
        JSONOutput.render(["format_version": "1", "hosts": hosts.map(record)])
    }

    /// One host as JSON keys, every delivery status named.
    public static func record(_ host: HostSummary) -> [String: Any] {
        [
            "udid": host.uuid, "serial": host.serial ?? NSNull(), "team": host.team ?? NSNull(),
            "enrolled_at": host.enrolledAt.ISO8601Format(), "last_seen_at": host.lastSeen?.ISO8601Format() ?? NSNull(),
            "deliveries": StatusReport.counts(host.deliveries),
        ]
    }
}
