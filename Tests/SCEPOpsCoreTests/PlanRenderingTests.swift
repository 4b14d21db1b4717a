import Foundation
import SCEPOpsCore
import SCEPOpsTestSupport
import Testing

@Suite("Plan rendering")
struct PlanRenderingTests {
    let planner = Planner(secretDigest: PlanningFixtures.digest)

    private func renamePlan() -> Plan {
        var after = ValidRepo.files
        after["certificate_authorities/wifi.yml"] = ValidRepo.wifiCA.replacingOccurrences(of: "name: WIFI", with: "name: WIFI_2026")
        after["profiles/wifi.mobileconfig"] = ValidRepo.profile(
            challenge: "$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_WIFI_2026", url: "$FLEET_VAR_CUSTOM_SCEP_PROXY_URL_WIFI_2026")
        var environment = ValidRepo.environment
        environment["VPN_CHALLENGE"] = "changed"
        let current = PlanningFixtures.applied(PlanningFixtures.desired(ValidRepo.files), hosts: ["Workstations": 3])
        return planner.plan(PlanningFixtures.desired(after, environment: environment), against: current)
    }

    @Test func textShowsSymbolsDeletionsFirstAndASummary() {
        let text = PlanText.render(renamePlan())
        #expect(text.contains("! 3 deletion(s) or replacement(s):"))
        #expect(text.contains("   1 - profile \"Kiosks/com.example.wifi\""))
        #expect(text.contains("-/+ certificate_authority \"WIFI_2026\" (was \"WIFI\")"))
        #expect(text.contains("~ challenge: (sensitive value changed)"))
        #expect(text.contains("+ profile \"Workstations/com.example.wifi\""))
        #expect(text.hasSuffix("Plan: 2 to create, 1 to update, 2 to delete, 1 to replace; 4 unchanged.\n"))
    }

    @Test func markdownHasATableDeletionsFirstAndDetails() {
        let markdown = PlanMarkdown.render(renamePlan())
        #expect(markdown.contains("| certificate authorities | 0 | 1 | 0 | 1 |"))
        #expect(markdown.contains("| profiles | 2 | 0 | 2 | 0 |"))
        let warning = markdown.range(of: "> [!WARNING]")!
        let firstDetails = markdown.range(of: "<details>")!
        #expect(warning.lowerBound < firstDetails.lowerBound)
        #expect(markdown.components(separatedBy: "<details>").count - 1 == 6)
    }

    @Test func markdownStaysUnderItsBudgetAndSaysWhatItCut() {
        var files = ValidRepo.files
        var teams: [String] = []
        for index in 0..<400 {
            let path = "profiles/many/p\(index).mobileconfig"
            files[path] = ValidRepo.profile(identifier: "com.example.many.\(index)")
            teams.append(path)
        }
        files["teams/many.yml"] = "name: Many\nenroll_secret: many-${WS_SECRET}\nprofiles:\n  - profiles/many/*.mobileconfig\n"
        let plan = planner.plan(PlanningFixtures.desired(files), against: .empty)
        #expect(plan.changes.count > 400)
        let markdown = PlanMarkdown.render(plan, budget: 20_000)
        #expect(markdown.count <= 20_000)
        #expect(markdown.contains("more change(s) not shown"))
        #expect(PlanMarkdown.render(plan).count <= PlanMarkdown.budget)
    }

    @Test func jsonIsVersionedWithEveryKeyPresent() throws {
        let json = PlanDocument(renamePlan(), caCheck: "skipped").json()
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(document["format_version"] as? String == "1")
        #expect(Set(document.keys) == ["format_version", "source", "state_revision", "ca_check", "summary", "changes", "diagnostics"])
        let changes = try #require(document["changes"] as? [[String: Any]])
        #expect(Set(changes[0].keys) == [
            "order", "action", "kind", "name", "previous_name", "file", "hosts_affected", "reason", "fields", "ca_certificate",
        ])
        #expect(changes.map { $0["order"] as? Int } == Array(1...6))
        let replace = try #require(changes.first { $0["action"] as? String == "replace" })
        #expect(replace["kind"] as? String == "certificate_authority")
        #expect(replace["previous_name"] as? String == "WIFI")
        let sensitive = try #require(changes.first { $0["name"] as? String == "VPN" }?["fields"] as? [[String: Any]])
        #expect(sensitive[0]["sensitive"] as? Bool == true)
        #expect(sensitive[0]["before"] is NSNull)
        #expect(PlanDocument.decode(Array(json.utf8)) == PlanDocument(renamePlan(), caCheck: "skipped"))
    }

    @Test func namesFromTheRepoCannotInjectMarkdown() {
        #expect(PlanMarkdown.escape("<img src=x>|`x`") == "&lt;img src=x&gt;\\|ʼxʼ")
    }
}
