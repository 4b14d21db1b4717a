import Foundation
import SCEPOpsTestSupport
import Testing

/// examples/monitoring: the alert rules pass `promtool check rules` and their own unit test,
/// and every metric the rules and the Grafana dashboard query is one serve exposes.
@Suite("Monitoring examples", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool"), "needs Debian's prometheus"))
struct MonitoringExamplesTests {
    static let folder = Command.packageRoot + "/examples/monitoring"

    /// The series serve can expose, from the metric descriptors in its source: a histogram's
    /// `_bucket`, `_sum` and `_count` too.
    static func exposedMetrics() throws -> Set<String> {
        let source = try String(contentsOfFile: Command.packageRoot + "/Sources/SCEPOpsServer/ServerMetrics.swift", encoding: .utf8)
        let fleet = try String(contentsOfFile: Command.packageRoot + "/Sources/SCEPOpsServer/FleetGauges.swift", encoding: .utf8)
        var names: Set<String> = []
        for match in source.matches(of: /Self\.name\("([a-z_]+)", "([a-z]*)"/) {
            let name = "scepops_" + match.1 + (match.2.isEmpty ? "" : "_" + match.2)
            names.formUnion([name, name + "_bucket", name + "_sum", name + "_count"])
        }
        for match in fleet.matches(of: /Gauge\(name: "([a-z_]+)"/) { names.insert("scepops_" + match.1) }
        return names
    }

    static func queried(_ text: String) -> Set<String> {
        Set(text.matches(of: /scepops_[a-z_]+/).map { String($0.0) })
    }

    @Test func alertRulesPassPromtoolAndTheirUnitTest() {
        let checked = Command.run("/usr/bin/promtool", ["check", "rules", "alerts.yml"], directory: Self.folder)
        #expect(checked.status == 0 && checked.stdout.contains("SUCCESS: 7 rules found"), "\(checked.stdout)\(checked.stderr)")
        let tested = Command.run("/usr/bin/promtool", ["test", "rules", "alerts.test.yml"], directory: Self.folder)
        #expect(tested.status == 0 && tested.stdout.contains("SUCCESS"), "\(tested.stdout)\(tested.stderr)")
    }

    @Test func rulesAndDashboardQueryOnlyWhatServeExposes() throws {
        let exposed = try Self.exposedMetrics()
        #expect(exposed.contains("scepops_build_info") && exposed.contains("scepops_certificates"), "\(exposed.sorted())")
        let rules = try String(contentsOfFile: Self.folder + "/alerts.yml", encoding: .utf8)
        let ruleMetrics = Self.queried(rules)
        #expect(!ruleMetrics.isEmpty && ruleMetrics.isSubset(of: exposed), "unknown: \(ruleMetrics.subtracting(exposed).sorted())")

        let data = try Data(contentsOf: URL(fileURLWithPath: Self.folder + "/grafana-dashboard.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        #expect(panels.count >= 10)
        let expressions = panels.flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
        #expect(expressions.count >= panels.count)
        let dashboardMetrics = Self.queried(expressions.joined(separator: "\n"))
        #expect(dashboardMetrics.isSubset(of: exposed), "unknown: \(dashboardMetrics.subtracting(exposed).sorted())")
        // Every kind of figure the issue names is on the dashboard.
        for metric in ["scepops_certificates", "scepops_renewals_total", "scepops_deliveries", "scepops_scep_upstream_errors_total",
            "scepops_command_queue_depth", "scepops_apns_pushes_total", "scepops_build_info"]
        {
            #expect(dashboardMetrics.contains(metric), "\(metric) on the dashboard")
        }
        // Each panel's expression is one Prometheus accepts: checked as recording rules.
        let work = TempRepo()
        var recording = "groups:\n  - name: dashboard\n    rules:\n"
        for (index, expression) in expressions.enumerated() {
            let quoted = String(decoding: try JSONSerialization.data(withJSONObject: [expression]), as: UTF8.self).dropFirst().dropLast()
            recording += "      - record: dashboard:panel_\(index)\n        expr: \(quoted)\n"
        }
        work.write("dashboard-rules.yml", recording)
        let parsed = Command.run("/usr/bin/promtool", ["check", "rules", "dashboard-rules.yml"], directory: work.path)
        #expect(parsed.status == 0 && parsed.stdout.contains("SUCCESS: \(expressions.count) rules found"), "\(parsed.stdout)\(parsed.stderr)")
    }

    @Test func serveExposesItsBuildAndCommit() throws {
        let work = TempRepo()
        let serve = try ServeProcess(db: work.path + "/state.db", arguments: [], directory: work.path, environment: [:])
        defer { serve.kill() }
        let metrics = Command.run("/usr/bin/curl", ["-s", serve.url + "/metrics"]).stdout
        let version = Command.run(Command.scepops, ["--version"]).stdout
        let commit = try #require(version.firstMatch(of: /commit ([0-9a-f]+|unknown)/)).1
        #expect(metrics.contains("scepops_build_info{version=\"0.1.0\",commit=\"\(commit)\"} 1"), "\(metrics.prefix(600))")
    }
}
