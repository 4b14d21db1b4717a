import Foundation
import SCEPOpsCore
import SCEPOpsStore

/// Renders the certificates hosts hold as text (a table and an expiry histogram by week),
/// JSON or CSV: `scepops certificates` and the admin API's `/v1/certificates` give the same
/// documents.
public enum CertificatesReport {
    public struct Filter: Sendable {
        /// Only those that expire within this long from now (expired ones too).
        public var expiring: TimeInterval?
        public var certificateAuthority: String?
        public var team: String?

        public init(expiring: TimeInterval? = nil, certificateAuthority: String? = nil, team: String? = nil) {
            self.expiring = expiring
            self.certificateAuthority = certificateAuthority
            self.team = team
        }

        func keeps(_ certificate: HostCertificate, now: Date) -> Bool {
            (expiring.map { certificate.notAfter.timeIntervalSince(now) <= $0 } ?? true)
                && (certificateAuthority.map { certificate.certificateAuthority == $0 } ?? true)
                && (team.map { certificate.team == $0 } ?? true)
        }
    }

    /// One certificate as listed: its renewal state, `due` when the rule says so and nothing
    /// has started (`none` for an unmanaged one).
    public struct Row: Sendable {
        public var certificate: HostCertificate
        public var renewal: RenewalProgress

        init(_ certificate: HostCertificate, settings: [String: RenewalSettings], now: Date) {
            self.certificate = certificate
            var renewal = certificate.renewal ?? RenewalProgress()
            if certificate.managed, renewal.state == .none || renewal.state == .renewed, let notBefore = certificate.notBefore,
                (settings[certificate.certificateAuthority ?? ""] ?? RenewalSettings()).rule
                    .isDue(notBefore: notBefore, notAfter: certificate.notAfter, now: now)
            {
                renewal.state = .due
            }
            self.renewal = renewal
        }
    }

    public static func rows(
        _ certificates: [HostCertificate], settings: [String: RenewalSettings], filter: Filter, now: Date
    ) -> [Row] {
        certificates.filter { filter.keeps($0, now: now) }.map { Row($0, settings: settings, now: now) }
    }

    /// The document in `format` (text, json or csv); nil for another format.
    public static func render(
        _ certificates: [HostCertificate], status: StateStatus, filter: Filter, format: String, now: Date
    ) -> String? {
        let settings = Dictionary(status.certificateAuthorities.map { ($0.name, $0.renewal) }) { a, _ in a }
        let listed = rows(certificates, settings: settings, filter: filter, now: now)
        switch format {
        case "text": return text(listed, now: now)
        case "json": return json(listed)
        case "csv": return csv(listed)
        default: return nil
        }
    }

    static let weeks = 13

    public static func text(_ rows: [Row], now: Date) -> String {
        guard !rows.isEmpty else { return "No certificates.\n" }
        var table = [["HOST", "UDID", "TEAM", "PROFILE", "CA", "SERIAL", "NOT AFTER", "RENEWAL"]]
        for row in rows {
            let certificate = row.certificate
            var renewal = row.renewal.state.rawValue
            if row.renewal.attempts > 0 { renewal += " (\(row.renewal.attempts) attempt\(row.renewal.attempts == 1 ? "" : "s"))" }
            table.append([
                certificate.hostSerial ?? "-", certificate.hostUDID, certificate.team ?? "(none)",
                certificate.profile ?? "(unmanaged)", certificate.certificateAuthority ?? "-", certificate.serial ?? "-",
                certificate.notAfter.ISO8601Format(), certificate.managed ? renewal : "-",
            ].map(TextLines.escape))
        }
        let widths = table[0].indices.map { column in table.map { $0[column].count }.max()! }
        var lines = table.map { cells in
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        let managed = rows.filter(\.certificate.managed).count
        lines.append("\(rows.count) certificate\(rows.count == 1 ? "" : "s"), \(managed) managed")
        lines.append("")
        lines.append("Expiring by week, from \(now.ISO8601Format()):")
        let counts = histogram(rows.map(\.certificate.notAfter), now: now)
        let widest = max(counts.weeks.max() ?? 0, 1)
        if counts.expired > 0 { lines.append("  expired      \(counts.expired)") }
        for (week, count) in counts.weeks.enumerated() {
            let start = now.addingTimeInterval(Double(week) * 7 * 86_400).ISO8601Format().prefix(10)
            let bar = String(repeating: "#", count: count == 0 ? 0 : max(1, count * 40 / widest))
            lines.append("  \(start)   \(String(count).padding(toLength: 6, withPad: " ", startingAt: 0))\(bar)")
        }
        if counts.later > 0 { lines.append("  later        \(counts.later)") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Expiries counted by week from now: already expired, each of the next 13 weeks, later.
    public static func histogram(_ expiries: [Date], now: Date) -> (expired: Int, weeks: [Int], later: Int) {
        var weeks = Array(repeating: 0, count: Self.weeks)
        var expired = 0
        var later = 0
        for expiry in expiries {
            let left = expiry.timeIntervalSince(now)
            if left < 0 {
                expired += 1
            } else if case let week = Int(left / (7 * 86_400)), week < Self.weeks {
                weeks[week] += 1
            } else {
                later += 1
            }
        }
        return (expired, weeks, later)
    }

    public static func json(_ rows: [Row]) -> String {
        JSONOutput.render(["format_version": "1", "certificates": rows.map(record)])
    }

    /// One certificate as the keys of docs/contract.md §7.
    public static func record(_ row: Row) -> [String: Any] {
        let certificate = row.certificate
        return [
            "host_udid": certificate.hostUDID, "host_serial": certificate.hostSerial ?? NSNull(), "team": certificate.team ?? NSNull(),
            "profile": certificate.profile ?? NSNull(), "certificate_authority": certificate.certificateAuthority ?? NSNull(),
            "subject": certificate.subject, "serial": certificate.serial ?? NSNull(),
            "not_before": certificate.notBefore?.ISO8601Format() ?? NSNull(), "not_after": certificate.notAfter.ISO8601Format(),
            "managed": certificate.managed,
            "renewal": [
                "state": row.renewal.state.rawValue, "attempts": row.renewal.attempts,
                "last_attempt_at": row.renewal.lastAttemptAt?.ISO8601Format() ?? NSNull(),
            ] as [String: Any],
        ]
    }

    static let csvColumns = [
        "host_udid", "host_serial", "team", "profile", "certificate_authority", "subject", "serial", "not_before", "not_after",
        "managed", "renewal_state", "renewal_attempts", "renewal_last_attempt_at",
    ]

    /// RFC 4180: a header, then one line per certificate; a field with a comma, a quote or
    /// a line break is quoted. A field that a spreadsheet would run as a formula is
    /// prefixed with a quote mark.
    public static func csv(_ rows: [Row]) -> String {
        func field(_ value: String) -> String {
            var value = value
            if let first = value.first, "=+-@\t\r".contains(first) { value = "'" + value }
            guard value.contains(where: { ",\"\r\n".contains($0) }) else { return value }
            return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        var lines = [csvColumns.joined(separator: ",")]
        for row in rows {
            let certificate = row.certificate
            lines.append(
                [
                    certificate.hostUDID, certificate.hostSerial ?? "", certificate.team ?? "", certificate.profile ?? "",
                    certificate.certificateAuthority ?? "", certificate.subject, certificate.serial ?? "",
                    certificate.notBefore?.ISO8601Format() ?? "", certificate.notAfter.ISO8601Format(), certificate.managed ? "true" : "false",
                    row.renewal.state.rawValue, String(row.renewal.attempts), row.renewal.lastAttemptAt?.ISO8601Format() ?? "",
                ].map(field).joined(separator: ","))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}
