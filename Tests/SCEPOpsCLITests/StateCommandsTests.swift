import Foundation
import SCEPOpsTestSupport
import Testing

/// history, show and export on the binary, over a state that apply wrote from a real git
/// repo (offline: these commands never talk to a CA).
@Suite("scepops history, show and export")
struct StateCommandsTests {
    let repo = ValidRepo.make()
    let work = TempRepo()
    let environment = ValidRepo.environment.merging(["SCEPOPS_SECRET_KEY": ReconcileCommandTests.key, "SCEPOPS_ACTOR": "alice"]) { $1 }
    var db: String { work.path + "/state.db" }

    init() {
        // A name and a URL that YAML and the variable expansion must carry through export.
        repo.write("certificate_authorities/vpn.yml", ValidRepo.vpnCA.replacingOccurrences(of: "/scep", with: "/scep?x=a\\$b#\"q\""))
        // Renewal settings, which export writes back and `state copy` carries.
        repo.write("certificate_authorities/wifi.yml", ValidRepo.wifiCA + "renewal:\n  before: 23h58m\n  max_per_hour: 120\n")
        repo.commitAll()
    }

    @Test func aCAsRenewalSettingsPlanAsAnUpdateAndShowInShow() throws {
        #expect(scepops(["apply", "--repo", repo.path, "--offline", "--auto-approve"]).status == 0)
        let shown = scepops(["show", "ca", "WIFI"])
        #expect(shown.stdout.contains("renewal: before 23h58m, max_per_hour 120\n"), "\(shown.stdout)")
        let vpn = scepops(["show", "ca", "VPN"])
        #expect(vpn.stdout.contains("renewal: before (30 days, or half of a shorter validity), max_per_hour 600 (default)\n"), "\(vpn.stdout)")
        let document = try json(scepops(["show", "ca", "WIFI", "--format", "json"]))
        let renewal = try #require(document["renewal"] as? [String: Any])
        #expect(renewal["before"] as? String == "23h58m" && renewal["max_per_hour"] as? Int == 120)

        repo.write("certificate_authorities/wifi.yml", ValidRepo.wifiCA + "renewal:\n  before: 7d\n")
        repo.commitAll("renew a week ahead, at the default pace")
        let plan = scepops(["plan", "--repo", repo.path, "--offline", "--detailed-exitcode"])
        #expect(plan.status == 2, "\(plan.stderr)")
        #expect(plan.stdout.contains("""
               1 ~ certificate_authority "WIFI"  [certificate_authorities/wifi.yml]
                   ~ renewal.before: 23h58m → 7d
                   - renewal.max_per_hour: 120

            Plan: 0 to create, 1 to update, 0 to delete, 0 to replace; 7 unchanged.
            """), "\(plan.stdout)")
        #expect(scepops(["apply", "--repo", repo.path, "--offline", "--auto-approve"]).status == 0)
        #expect(scepops(["show", "ca", "WIFI"]).stdout.contains("renewal: before 7d, max_per_hour 600 (default)\n"))
    }

    func scepops(_ arguments: [String], environment: [String: String]? = nil) -> Command.Result {
        Command.run(Command.scepops, arguments + ["--db", db], directory: work.path, environment: environment ?? self.environment)
    }

    func json(_ result: Command.Result) throws -> [String: Any] {
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    func noSecrets(_ result: Command.Result) {
        for secret in ValidRepo.environment.values {
            #expect(!result.stdout.contains(secret) && !result.stderr.contains(secret), "a secret leaked")
        }
    }

    @Test func historyListsEachApplyAndShowNamesTheCommitThatLastChangedIt() throws {
        #expect(scepops(["history"]).status == 1, "no state yet")
        #expect(scepops(["apply", "--repo", repo.path, "--offline", "--auto-approve"]).status == 0)
        let first = repo.git("rev-parse", "HEAD")
        repo.write("certificate_authorities/wifi.yml", ValidRepo.wifiCA.replacingOccurrences(of: "scep.example.com", with: "scep2.example.com"))
        repo.commitAll("move the Wi-Fi CA")
        let second = repo.git("rev-parse", "HEAD")
        #expect(scepops(["apply", "--repo", repo.path, "--offline", "--auto-approve"]).status == 0)

        let history = try json(scepops(["history", "--format", "json"]))
        let applies = try #require(history["applies"] as? [[String: Any]])
        #expect(applies.map { $0["id"] as? Int } == [2, 1], "newest first")
        #expect(applies.map { $0["commit"] as? String } == [second, first])
        #expect(applies.allSatisfy { $0["actor"] as? String == "alice" && $0["result"] as? String == "applied" })
        #expect(applies[0]["counts"] as? [String: Int] == ["create": 0, "update": 1, "delete": 0, "replace": 0])
        #expect(applies[1]["counts"] as? [String: Int] == ["create": 8, "update": 0, "delete": 0, "replace": 0])
        let text = scepops(["history"])
        #expect(text.stdout.split(separator: "\n").count == 2)
        #expect(text.stdout.contains("#2 ") && text.stdout.contains(String(second.prefix(12))) && text.stdout.contains("+0 ~1 -0 -/+0"))
        #expect(scepops(["history", "--limit", "1"]).stdout.split(separator: "\n").count == 1)

        let wifi = try json(scepops(["show", "ca", "WIFI", "--format", "json"]))
        #expect(wifi["url"] as? String == "https://scep2.example.com/scep")
        #expect(wifi["challenge"] as? String == "(sensitive)")
        #expect(wifi["last_commit"] as? String == second)
        #expect((wifi["last_apply"] as? [String: Any])?["id"] as? Int == 2)
        #expect(wifi["profiles"] as? [String] == ["Kiosks/com.example.wifi", "Workstations/com.example.wifi"])
        let vpn = try json(scepops(["show", "ca", "VPN", "--format", "json"]))
        #expect(vpn["last_commit"] as? String == first, "unchanged by the second commit")
        let team = scepops(["show", "team", "Workstations"])
        #expect(team.stdout.contains("enroll_secret: (sensitive)"))
        #expect(team.stdout.contains("last changed by: apply #1 by alice"))
        noSecrets(team)
        let profile = try json(scepops(["show", "profile", "Kiosks/com.example.vpn", "--format", "json"]))
        #expect(profile["path"] as? String == "profiles/vpn/vpn.mobileconfig")
        #expect(profile["certificate_authorities"] as? [String] == ["VPN"])
        let ambiguous = scepops(["show", "profile", "com.example.wifi"])
        #expect(ambiguous.status == 1)
        #expect(ambiguous.stderr.contains("Kiosks/com.example.wifi, Workstations/com.example.wifi"))
        let missing = scepops(["show", "ca", "WIFY"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no ca named WIFY in the state (it has: VPN, WIFI)"))
    }

    @Test func exportThenPlanShowsNoChanges() throws {
        #expect(scepops(["apply", "--repo", repo.path, "--offline", "--auto-approve"]).status == 0)
        let out = work.path + "/exported"
        let export = scepops(["export", "--out", out])
        #expect(export.status == 0, "\(export.stderr)")
        noSecrets(export)
        let placeholders = [
            "SCEPOPS_CA_VPN_CHALLENGE", "SCEPOPS_CA_WIFI_CHALLENGE", "SCEPOPS_TEAM_KIOSKS_ENROLL_SECRET",
            "SCEPOPS_TEAM_WORKSTATIONS_ENROLL_SECRET",
        ]
        for name in placeholders { #expect(export.stdout.contains(name)) }
        // Nothing secret was written, and every file the state names is there.
        let files = try #require(FileManager.default.subpaths(atPath: out)).filter { !$0.hasSuffix("/") }
        for file in files {
            let text = (try? String(contentsOfFile: out + "/" + file, encoding: .utf8)) ?? ""
            for secret in ValidRepo.environment.values { #expect(!text.contains(secret), "\(file) holds a secret") }
        }
        #expect(Set(files).isSuperset(of: ValidRepo.files.keys))

        var environment = self.environment
        environment["SCEPOPS_CA_WIFI_CHALLENGE"] = ValidRepo.environment["WIFI_CHALLENGE"]
        environment["SCEPOPS_CA_VPN_CHALLENGE"] = ValidRepo.environment["VPN_CHALLENGE"]
        environment["SCEPOPS_TEAM_WORKSTATIONS_ENROLL_SECRET"] = ValidRepo.environment["WS_SECRET"]
        environment["SCEPOPS_TEAM_KIOSKS_ENROLL_SECRET"] = ValidRepo.environment["KIOSK_SECRET"]
        let plan = scepops(["plan", "--repo", out, "--offline", "--detailed-exitcode"], environment: environment)
        #expect(plan.status == 0, "\(plan.stdout)\(plan.stderr)")
        #expect(plan.stdout.contains("No changes. The state matches the config (8 unchanged)."))

        // A placeholder left unset is named, with its file and line; a wrong secret is a change.
        environment["SCEPOPS_TEAM_KIOSKS_ENROLL_SECRET"] = nil
        let unset = scepops(["plan", "--repo", out, "--offline"], environment: environment)
        #expect(unset.status == 1)
        #expect(unset.stdout.contains("teams/kiosks.yml:2:16: error[env-unset]: environment variable SCEPOPS_TEAM_KIOSKS_ENROLL_SECRET is not set"))
        environment["SCEPOPS_TEAM_KIOSKS_ENROLL_SECRET"] = "not-the-secret"
        let wrong = scepops(["plan", "--repo", out, "--offline", "--detailed-exitcode"], environment: environment)
        #expect(wrong.status == 2)
        #expect(wrong.stdout.contains("(sensitive value changed)"))

        // The folder is written whole or not at all, and never over existing files.
        let again = scepops(["export", "--out", out])
        #expect(again.status == 1)
        #expect(again.stderr.contains("not empty"))
    }

    /// SQLite to PostgreSQL and back: the history comes along, a plan against the copy has
    /// nothing to do, a non-empty target is refused, and no secret or password is shown.
    @Test(.enabled(if: PostgresTestServer.url != nil, "needs ci/test's PostgreSQL"))
    func aStateCopiesToPostgreSQLAndBackWithItsHistory() throws {
        #expect(scepops(["apply", "--repo", repo.path, "--offline", "--auto-approve"]).status == 0)
        repo.write("certificate_authorities/wifi.yml", ValidRepo.wifiCA.replacingOccurrences(of: "scep.example.com", with: "scep2.example.com"))
        repo.commitAll("move the Wi-Fi CA")
        #expect(scepops(["apply", "--repo", repo.path, "--offline", "--auto-approve"]).status == 0)
        let postgres = try PostgresTestServer.makeDatabase()
        let password = try #require(TestBackend.password(in: postgres))
        let run = { (arguments: [String]) in Command.run(Command.scepops, arguments, directory: work.path, environment: environment) }

        let there = run(["state", "copy", "--from", db, "--to", postgres])
        #expect(there.status == 0, "\(there.stderr)")
        #expect(there.stdout.contains("at revision 2; rows match: team 2, certificate_authority 2, profile 4"))
        let plan = run(["plan", "--repo", repo.path, "--offline", "--detailed-exitcode", "--db", postgres])
        #expect(plan.status == 0, "\(plan.stdout)\(plan.stderr)")
        #expect(plan.stdout.contains("No changes"))
        let history = { (database: String) in run(["history", "--format", "json", "--db", database]).stdout }
        #expect(history(postgres) == history(db) && history(db).contains("\"id\" : 2"))

        // A role that may only SELECT runs every command that only reads; apply is refused.
        let role = "reader_" + UUID().uuidString.prefix(8).lowercased()
        let granted = Command.run(
            "/usr/bin/psql",
            [postgres, "-v", "ON_ERROR_STOP=1", "-qc",
                "CREATE ROLE \(role) LOGIN PASSWORD 'read-only-pw'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO \(role)"])
        #expect(granted.status == 0, "\(granted.stderr)")
        let reader = postgres.replacingOccurrences(of: "scepops:\(password)@", with: "\(role):read-only-pw@")
        for arguments in [["status"], ["history"], ["show", "team", "Kiosks"], ["plan", "--repo", repo.path, "--offline"],
            ["drift", "--repo", repo.path, "--offline"]]
        {
            let result = run(arguments + ["--db", reader])
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
        }
        let refused = run(["apply", "--repo", repo.path, "--offline", "--auto-approve", "--db", reader])
        #expect(refused.status == 1 && refused.stderr.contains("permission denied"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("read-only-pw"))

        let back = work.path + "/back.db"
        #expect(run(["state", "copy", "--from", postgres, "--to", back]).status == 0)
        #expect(history(back) == history(db))
        let again = run(["state", "copy", "--from", db, "--to", postgres])
        #expect(again.status == 1)
        #expect(again.stderr.contains("is not empty"))
        let existing = run(["state", "copy", "--from", postgres, "--to", back])
        #expect(existing.status == 1 && existing.stderr.contains("exists"))
        for result in [there, plan, again, existing] {
            noSecrets(result)
            #expect(!result.stdout.contains(password) && !result.stderr.contains(password), "the database password leaked")
        }
    }
}
