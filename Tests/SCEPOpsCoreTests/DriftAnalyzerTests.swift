import Foundation
import SCEPOpsCore
import Testing

@Suite("Drift findings, ignore rules and exit codes")
struct DriftAnalyzerTests {
    let now = try! Date("2026-11-29T12:00:00Z", strategy: .iso8601)
    let source = ConfigSource(kind: .workingTree, repository: "config")

    func day(_ offset: Double) -> Date { now.addingTimeInterval(offset * 86_400) }

    func summary(_ fingerprint: String, expires: Date) -> CACertificateSummary {
        CACertificateSummary(subject: "CN=Example CA", fingerprint: fingerprint, notAfter: expires.ISO8601Format())
    }

    func plan(_ changes: [PlannedChange] = []) -> Plan {
        Plan(source: source, stateRevision: 1, changes: changes, diagnostics: [], unchanged: [:])
    }

    @Test func eachKindComesFromItsObservationAndThresholdsAreBoundaries() {
        let hosts = HostObservations(
            failed: [.init(host: "H1", profile: "T/com.a", detail: "Profile installation failed", retries: 0)],
            missing: [.init(host: "H2", profile: "T/com.b", detail: nil, retries: 2)],
            unexpected: [.init(host: "H3", identifier: "com.other")],
            certificates: [
                .init(host: "H1", subject: "CN=soon", fingerprint: String(repeating: "a", count: 64), notAfter: day(29.9)),
                .init(host: "H1", subject: "CN=later", fingerprint: String(repeating: "b", count: 64), notAfter: day(30.1)),
                .init(host: "H2", subject: "CN=gone", fingerprint: String(repeating: "c", count: 64), notAfter: day(-1)),
            ],
            hosts: [
                .init(uuid: "H1", team: "T", lastSeen: day(-6.9), enrolledAt: day(-100)),
                .init(uuid: "H2", team: "T", lastSeen: day(-7.1), enrolledAt: day(-100)),
                .init(uuid: "H3", team: "T", lastSeen: nil, enrolledAt: day(-8)),
            ],
            failedRenewals: [.init(host: "H1", profile: "T/com.a", attempts: 3, detail: "the CA refused the request", notAfter: day(5))],
            serials: ["H3": "C02XYZ"])
        let authorities: [CertificateAuthorityHealth] = [
            .init(name: "A", applied: summary("f1", expires: day(400)), live: .answered(summary("f1", expires: day(400)))),
            .init(name: "B", applied: summary("f1", expires: day(400)), live: .answered(summary("f2", expires: day(10)))),
            .init(name: "C", applied: summary("f1", expires: day(400)), live: .unreachable("GetCACert failed: connection refused")),
            .init(name: "D", applied: summary("f1", expires: day(3)), live: .unchecked),
        ]
        let change = PlannedChange(
            action: .update, .certificateAuthority("A"), hostsAffected: 4,
            fields: [FieldChange(path: "challenge", before: "old", after: "new", sensitive: true)])
        let findings = DriftAnalyzer().findings(plan: plan([change]), hosts: hosts, authorities: authorities, now: now)
        #expect(
            findings.map { "\($0.kind.rawValue) \($0.subject)" } == [
                "unapplied-change update certificate_authority A",
                "certificate-expiring host H1 certificate aaaaaaaaaaaaaaaa",
                "certificate-expiring host H2 certificate cccccccccccccccc",
                "host-unseen host H2",
                "host-unseen host H3",
                "profile-failed host H1 profile T/com.a",
                "profile-missing host H2 profile T/com.b",
                "profile-unexpected host H3 profile com.other",
                "renewal-failed host H1 profile T/com.a",
                "ca-certificate-changed certificate_authority B",
                "ca-certificate-expiring certificate_authority B",
                "ca-certificate-expiring certificate_authority D",
                "ca-unreachable certificate_authority C",
            ])
        let messages = Dictionary(findings.map { ($0.subject + " " + $0.kind.rawValue, $0.message) }) { a, _ in a }
        #expect(messages["update certificate_authority A unapplied-change"] == "plan would update certificate_authority A: challenge (sensitive value changed); 4 host(s) affected")
        #expect(messages["host H2 certificate cccccccccccccccc certificate-expiring"]?.hasPrefix("CN=gone expired on ") == true)
        #expect(messages["host H3 host-unseen"] == "never seen since enrolment 8 days ago (team T) (host serial C02XYZ)", "named by serial too")
        #expect(messages["host H1 profile T/com.a renewal-failed"]?.hasPrefix("renewing its certificate failed 3 time(s): the CA refused the request; the certificate expires on ") == true)
        // Other thresholds move the boundaries.
        let strict = DriftAnalyzer(expiryDays: 0, unseenDays: 30)
            .findings(plan: plan(), hosts: hosts, authorities: [], now: now).map(\.kind)
        #expect(strict == [.certificateExpiring, .profileFailed, .profileMissing, .profileUnexpected, .renewalFailed])
    }

    @Test func fingerprintsDependOnKindAndSubjectOnly() {
        let a = DriftFinding(.caUnreachable, subject: "certificate_authority WIFI", "connection refused")
        let b = DriftFinding(.caUnreachable, subject: "certificate_authority WIFI", "timed out after 30 s")
        let c = DriftFinding(.caCertificateExpiring, subject: "certificate_authority WIFI", "connection refused")
        #expect(a.fingerprint == b.fingerprint)
        #expect(a.fingerprint != c.fingerprint)
        // Pinned: a cron job's saved fingerprints must still match after an upgrade.
        #expect(a.fingerprint == "21cc38c9a42ddefc")
        #expect(a.fingerprint.count == 16)
    }

    @Test func exitCodesIgnoreRulesAndSince() {
        let unapplied = DriftFinding(.unappliedChange, subject: "create team T", "plan would create team T")
        let host = DriftFinding(.profileFailed, subject: "host H profile T/p", "failed")
        let ca = DriftFinding(.caUnreachable, subject: "certificate_authority A", "refused")
        func code(_ findings: [DriftFinding], rules: [DriftIgnoreRule] = [], since: Set<String>? = nil) -> Int32 {
            DriftReport(source: source, findings: findings, rules: rules, since: since, now: now).exitCode
        }
        #expect(code([]) == 0)
        #expect(code([unapplied]) == 2)
        #expect(code([host]) == 3)
        #expect(code([ca]) == 3)
        #expect(code([unapplied, host, ca]) == 4)

        let live = DriftIgnoreRule(kind: .profileFailed, reason: "known", until: "2026-12-01", file: "i.yml", line: 2)
        let lastDay = DriftIgnoreRule(fingerprint: ca.fingerprint, reason: "today", until: "2026-11-29", file: "i.yml", line: 5)
        let expired = DriftIgnoreRule(subject: "host *", reason: "old", until: "2026-11-28", file: "i.yml", line: 8)
        #expect(code([host], rules: [live]) == 0)
        #expect(code([ca], rules: [lastDay]) == 0, "a rule holds through its last day")
        #expect(code([host], rules: [expired]) == 3, "an expired rule hides nothing")
        let report = DriftReport(source: source, findings: [host, ca], rules: [live, lastDay, expired], now: now)
        #expect(report.ignored.map(\.daysLeft) == [2, 0])
        #expect(report.expiredRules == [expired])
        #expect(DriftText.render(report).contains("ignored (expires in 2 days): known"))
        #expect(DriftText.render(report).contains("ignored (expires today): today"))
        #expect(DriftText.render(report).contains("i.yml:8 expired on 2026-11-28"))

        #expect(code([unapplied, host], since: [host.fingerprint]) == 2)
        #expect(code([unapplied, host], since: [unapplied.fingerprint, host.fingerprint]) == 0)
        let json = DriftDocument(DriftReport(source: source, findings: [host, ca], rules: [live], now: now)).json()
        #expect(DriftDocument.reportedFingerprints(Array(json.utf8)) == [ca.fingerprint], "ignored findings are not 'reported'")
        #expect(DriftDocument.reportedFingerprints(Array("{}".utf8)) == nil)
    }

    /// At scale: host findings carry their team and serial, the reports group them by kind
    /// and team with counts, and ignore rules may name a team or a serial pattern.
    @Test func findingsGroupByKindAndTeamAndRulesMatchTeamAndSerial() {
        let hosts = HostObservations(
            failed: [
                .init(host: "H1", profile: "Labs/com.a", detail: "failed", retries: 0),
                .init(host: "H2", profile: "Labs/com.a", detail: "failed", retries: 0),
                .init(host: "H3", profile: "Desks/com.a", detail: "failed", retries: 0),
            ],
            hosts: [
                .init(uuid: "H1", team: "Labs", lastSeen: day(0), enrolledAt: day(-10)),
                .init(uuid: "H2", team: "Labs", lastSeen: day(0), enrolledAt: day(-10)),
                .init(uuid: "H3", team: "Desks", lastSeen: day(0), enrolledAt: day(-10)),
            ],
            serials: ["H1": "C02LAB01", "H2": "C02LAB02", "H3": "C02DSK01"])
        let findings = DriftAnalyzer(expiryDays: 30, unseenDays: 7).findings(plan: plan(), hosts: hosts, authorities: [], now: now)
        #expect(findings.map(\.team) == ["Labs", "Labs", "Desks"] && findings.map(\.hostSerial) == ["C02LAB01", "C02LAB02", "C02DSK01"])
        let text = DriftText.render(DriftReport(source: source, findings: findings, now: now))
        #expect(text.contains("State against hosts:\n  profile-failed, team Desks (1):\n    [") && text.contains("  profile-failed, team Labs (2):\n    ["), "\(text)")
        let markdown = DriftMarkdown.render(DriftReport(source: source, findings: findings, now: now))
        #expect(markdown.contains("**profile-failed, team Labs (2)**"), "\(markdown)")
        let json = DriftDocument(DriftReport(source: source, findings: findings, now: now)).json()
        #expect(json.contains(#""team" : "Labs""#) || json.contains(#""team":"Labs""#), "\(json)")
        #expect(json.contains("C02DSK01") && json.contains("host_serial"))

        let byTeam = DriftIgnoreRule(team: "Labs", reason: "reimaged weekly", until: "2026-12-31", file: "i.yml", line: 2)
        let bySerial = DriftIgnoreRule(serial: "C02DSK*", reason: "loaner", until: "2026-12-31", file: "i.yml", line: 5)
        #expect(DriftReport(source: source, findings: findings, rules: [byTeam], now: now).reported.map(\.finding.hostSerial) == ["C02DSK01"])
        #expect(DriftReport(source: source, findings: findings, rules: [byTeam, bySerial], now: now).exitCode == 0)
        // A rule on a team hides nothing that has no team (a CA's finding).
        let ca = DriftFinding(.caUnreachable, subject: "certificate_authority A", "refused")
        #expect(!DriftIgnoreRule(team: "*", reason: "x", until: "2026-12-31", file: "i.yml", line: 1).matches(ca))
    }

    @Test func renderingsAreDeterministicAndEscapeMarkdown() {
        let findings = [
            DriftFinding(.profileUnexpected, subject: "host H|1 profile <b>x</b>", "not ours"),
            DriftFinding(.unappliedChange, subject: "delete team T", "plan would delete team T"),
        ]
        let one = DriftReport(source: source, findings: findings, now: now)
        let two = DriftReport(source: source, findings: findings.reversed(), now: now)
        #expect(DriftText.render(one) == DriftText.render(two))
        #expect(DriftDocument(one).json() == DriftDocument(two).json())
        let markdown = DriftMarkdown.render(one)
        #expect(markdown.contains("host H\\|1 profile &lt;b&gt;x&lt;/b&gt;"))
        #expect(!markdown.contains("<b>"))
        #expect(DriftText.render(DriftReport(source: source, findings: [], now: now)).contains("No drift"))
    }

    @Test func theMarkdownStaysWithinTheIssueLimitAndSaysWhatItLeftOut() {
        // ~270 findings passed GitHub's 65,536 characters; 2,000 of them must not.
        let findings = (0..<2_000).map { index in
            DriftFinding(
                .certificateExpiring, subject: "host UDID-\(index) certificate \(String(repeating: "a", count: 16))",
                "CN=\(String(repeating: "long subject ", count: 8)) expires in 3 day(s) (host serial C02\(index))")
        }
        let report = DriftReport(source: source, findings: findings, now: now)
        let markdown = DriftMarkdown.render(report)
        #expect(markdown.count <= PlanMarkdown.budget, "\(markdown.count) characters")
        let shown = markdown.split(separator: "\n").count { $0.hasPrefix("| certificate-expiring |") }
        #expect(shown > 100 && shown < 2_000)
        #expect(markdown.contains("_… \(2_000 - shown) more finding(s) not shown: the issue is limited to 60000 characters. `scepops drift --format json` has them all._"))
        #expect(DriftMarkdown.render(DriftReport(source: source, findings: Array(findings.prefix(3)), now: now)).contains("not shown") == false)
    }

    @Test func sinceSaysNoNewDriftAndHowManyStand() {
        let findings = [
            DriftFinding(.hostUnseen, subject: "host H1", "last seen long ago"),
            DriftFinding(.caUnreachable, subject: "certificate_authority A", "refused"),
        ]
        let reported = DriftReport(source: source, findings: findings, since: Set(findings.map(\.fingerprint)), now: now)
        #expect(reported.exitCode == 0)
        #expect(DriftText.render(reported).contains("No new drift (2 already reported)."), "\(DriftText.render(reported))")
        #expect(!DriftText.render(reported).contains("No drift:"))
        #expect(DriftMarkdown.render(reported).contains("**No new drift (2 already reported).**"))
        let half = DriftReport(source: source, findings: findings, since: [findings[0].fingerprint], now: now)
        #expect(half.exitCode != 0 && !DriftText.render(half).contains("No new drift"))
    }
}
