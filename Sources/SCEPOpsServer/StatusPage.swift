import Foundation
import SCEPOpsCore
import SCEPOpsStore

/// The status page (`GET /ui` on the admin listener): hosts by team, deliveries by status,
/// certificates by expiry week as an inline SVG chart, each CA with its health, and the last
/// applies. Server-rendered HTML, no script, one column on a phone. Every value from the state
/// or a host is escaped; figures carry `data-` attributes so that a test can read them.
public enum StatusPage {
    public struct Input: Sendable {
        public var status: StateStatus
        public var certificates: [HostCertificate]
        public var applies: [ApplyRecord]
        /// Proxied requests each CA failed or did not answer, since this server started.
        public var upstreamErrors: [String: Int]
        public var now: Date

        public init(status: StateStatus, certificates: [HostCertificate], applies: [ApplyRecord], upstreamErrors: [String: Int], now: Date) {
            self.status = status
            self.certificates = certificates
            self.applies = applies
            self.upstreamErrors = upstreamErrors
            self.now = now
        }
    }

    /// A CA's health as the page shows it: the worst of what is known.
    public enum Health: String, Sendable, Hashable {
        case ok
        case warning
        case failing
    }

    public static func html(_ input: Input) -> String {
        let managed = input.certificates.filter(\.managed)
        let histogram = CertificatesReport.histogram(managed.map(\.notAfter), now: input.now)
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>scepops</title>
            <style>\(style)</style>
            </head>
            <body>
            <header><h1>scepops</h1><p>State revision <span data-figure="revision">\(input.status.revision)</span> · \
            \(escape(timestamp(input.now)))</p></header>
            <main>
            \(hostsSection(input.status))
            \(deliveriesSection(input.status))
            \(chartSection(histogram))
            \(authoritiesSection(input, managed: managed))
            \(appliesSection(input.applies))
            </main>
            </body>
            </html>

            """
    }

    static func hostsSection(_ status: StateStatus) -> String {
        let rows = status.teams.sorted { $0.name < $1.name }.map {
            "<tr><td>\(escape($0.name))</td><td class=\"n\" data-team=\"\(escape($0.name))\">\($0.hosts)</td></tr>"
        }
        let total = status.teams.reduce(0) { $0 + $1.hosts }
        return section(
            "Hosts by team",
            table(["Team", "Hosts"], rows + ["<tr class=\"total\"><td>All</td><td class=\"n\" data-figure=\"hosts\">\(total)</td></tr>"]))
    }

    static func deliveriesSection(_ status: StateStatus) -> String {
        let rows = DeliveryStatus.allCases.map { delivery in
            "<tr><td><span class=\"dot \(delivery.rawValue)\"></span>\(delivery.rawValue)</td>"
                + "<td class=\"n\" data-deliveries=\"\(delivery.rawValue)\">\(status.hostProfiles[delivery] ?? 0)</td></tr>"
        }
        return section("Deliveries by status", table(["Status", "Deliveries"], rows))
    }

    /// Bars for expired, each of the next 13 weeks, and later; each bar's height against the
    /// tallest, its count above it.
    static func chartSection(_ histogram: (expired: Int, weeks: [Int], later: Int)) -> String {
        let bars: [(label: String, key: String, count: Int)] =
            [("exp", "expired", histogram.expired)]
            + histogram.weeks.enumerated().map { ("w\($0.offset + 1)", "week-\($0.offset + 1)", $0.element) }
            + [("later", "later", histogram.later)]
        let tallest = max(1, bars.map(\.count).max() ?? 1)
        let width = 24, gap = 6, height = 120, top = 16
        var shapes: [String] = []
        for (index, bar) in bars.enumerated() {
            let x = index * (width + gap)
            let barHeight = bar.count == 0 ? 0 : max(2, bar.count * height / tallest)
            let y = top + height - barHeight
            let kind = bar.key == "expired" ? "expired" : index <= 1 ? "soon" : "bar"
            shapes.append(
                """
                <rect class="\(kind)" x="\(x)" y="\(y)" width="\(width)" height="\(barHeight)" data-week="\(bar.key)" data-count="\(bar.count)"><title>\(bar.key): \(bar.count)</title></rect>\
                <text x="\(x + width / 2)" y="\(y - 3)" text-anchor="middle">\(bar.count)</text>\
                <text x="\(x + width / 2)" y="\(top + height + 14)" text-anchor="middle">\(bar.label)</text>
                """)
        }
        let total = bars.reduce(0) { $0 + $1.count }
        let svgWidth = bars.count * (width + gap)
        return section(
            "Certificates by expiry week",
            """
            <p><span data-figure="certificates">\(total)</span> managed certificates; weeks from now.</p>
            <svg role="img" aria-label="Managed certificates by week of expiry" viewBox="0 0 \(svgWidth) \(top + height + 20)" \
            preserveAspectRatio="xMinYMin meet">\(shapes.joined())</svg>
            """)
    }

    static func authoritiesSection(_ input: Input, managed: [HostCertificate]) -> String {
        let rows = input.status.certificateAuthorities.sorted { $0.name < $1.name }.map { ca -> String in
            let held = managed.filter { $0.certificateAuthority == ca.name }
            let failed = held.filter { $0.renewal?.state == .failed }.count
            let errors = input.upstreamErrors[ca.name] ?? 0
            let expiry = ca.certificate.flatMap { ISO8601DateFormatter().date(from: $0.notAfter) }
            let (health, reason) = health(expiry: expiry, failedRenewals: failed, upstreamErrors: errors, now: input.now)
            let expires = expiry.map { "\(escape(day($0))) (\(Int(($0.timeIntervalSince(input.now) / 86_400).rounded(.down))) d)" } ?? "unknown"
            return "<tr data-ca=\"\(escape(ca.name))\"><td>\(escape(ca.name))</td>"
                + "<td><span class=\"health \(health.rawValue)\" data-health=\"\(health.rawValue)\">\(health.rawValue)</span> \(escape(reason))</td>"
                + "<td>\(expires)</td><td class=\"n\" data-held=\"\(escape(ca.name))\">\(held.count)</td></tr>"
        }
        return section("Certificate authorities", table(["CA", "Health", "CA certificate expires", "Certificates"], rows))
    }

    /// Failing: renewals that failed for good, errors from the CA, or its own certificate
    /// expired. A warning: its certificate expires within 30 days.
    static func health(expiry: Date?, failedRenewals: Int, upstreamErrors: Int, now: Date) -> (Health, String) {
        var failing: [String] = []
        if failedRenewals > 0 { failing.append("\(failedRenewals) renewals failed") }
        if upstreamErrors > 0 { failing.append("\(upstreamErrors) proxied requests failed") }
        if let expiry, expiry < now { failing.append("its certificate has expired") }
        if !failing.isEmpty { return (.failing, failing.joined(separator: "; ")) }
        if let expiry, expiry.timeIntervalSince(now) < 30 * 86_400 { return (.warning, "its certificate expires within 30 days") }
        return (.ok, "")
    }

    static func appliesSection(_ applies: [ApplyRecord]) -> String {
        let rows = HistoryReport.newest(applies, limit: 5).map { record -> String in
            let counts = PlannedChange.Action.allCases.compactMap { action in
                record.counts[action].flatMap { $0 > 0 ? "\($0) \(action.rawValue)" : nil }
            }
            return "<tr data-apply=\"\(record.id)\"><td>\(escape(record.finishedAt))</td><td>\(escape(record.commit.map { String($0.prefix(12)) } ?? "-"))</td>"
                + "<td>\(escape(record.actor))</td><td>\(record.result.rawValue)</td><td>\(escape(counts.isEmpty ? "no changes" : counts.joined(separator: ", ")))</td></tr>"
        }
        return section("Last applies", rows.isEmpty ? "<p>No applies yet.</p>" : table(["Finished", "Commit", "Actor", "Result", "Changes"], rows))
    }

    static func section(_ title: String, _ body: String) -> String {
        "<section><h2>\(escape(title))</h2>\(body)</section>"
    }

    static func table(_ headers: [String], _ rows: [String]) -> String {
        "<div class=\"scroll\"><table><thead><tr>\(headers.map { "<th>\(escape($0))</th>" }.joined())</tr></thead><tbody>"
            + rows.joined() + "</tbody></table></div>"
    }

    /// Text for HTML content and attribute values: XML's escaping serves HTML too.
    static func escape(_ text: String) -> String { XMLText.escape(text) }

    static func timestamp(_ date: Date) -> String { date.formatted(Date.ISO8601FormatStyle()) }
    static func day(_ date: Date) -> String { String(timestamp(date).prefix(10)) }

    static let style = """
        body{font:15px/1.4 system-ui,sans-serif;margin:0;color:#1d232a;background:#f5f6f8}\
        header{background:#1d232a;color:#fff;padding:12px 16px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;opacity:.8}\
        main{display:flex;flex-wrap:wrap;gap:16px;padding:16px}\
        section{background:#fff;border-radius:8px;padding:12px 16px;flex:1 1 320px;min-width:0;box-shadow:0 1px 2px rgba(0,0,0,.08)}\
        h2{font-size:16px;margin:0 0 8px}.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%}\
        th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e3e6ea;white-space:nowrap}td.n{text-align:right}\
        tr.total td{font-weight:600}svg{width:100%;max-width:640px;height:auto}svg text{font-size:10px;fill:#444}\
        rect.bar{fill:#3b7dd8}rect.soon{fill:#e0a020}rect.expired{fill:#c8372d}\
        .dot{display:inline-block;width:8px;height:8px;border-radius:4px;margin-right:6px;background:#999}\
        .dot.verified{background:#2e9e5b}.dot.failed{background:#c8372d}.dot.sent{background:#3b7dd8}\
        .health{padding:1px 6px;border-radius:4px;color:#fff}.health.ok{background:#2e9e5b}.health.warning{background:#e0a020}\
        .health.failing{background:#c8372d}
        """
}
