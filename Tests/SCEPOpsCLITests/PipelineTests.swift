import Foundation
import SCEPOpsTestSupport
import Testing

/// The pipelines users copy from ci/pipelines, run step by step against a real git
/// checkout of examples/basic, a real state file and a real scepserver, so that they
/// cannot rot: the exit codes, the comment and issue bodies, and the API calls made.
@Suite("CI pipelines in ci/pipelines", .serialized)
struct PipelineTests {
    let server: SCEPServer
    let checkout = TempRepo()
    let state = TempRepo()
    let secrets: [String: String]
    var db: String { state.path + "/scepops.db" }

    init() throws {
        server = try SCEPServer()
        let example = Command.packageRoot + "/examples/basic"
        for path in try #require(FileManager.default.subpaths(atPath: example)) {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: example + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue,
                path != "example.env"
            else { continue }
            let text = try String(contentsOfFile: example + "/" + path, encoding: .utf8)
            checkout.write(
                path,
                text.replacingOccurrences(of: "http://127.0.0.1:2016/scep", with: server.url)
                    .replacingOccurrences(of: "http://127.0.0.1:2017/scep", with: server.url))
        }
        checkout.commitAll()
        let env = try String(contentsOfFile: example + "/example.env", encoding: .utf8)
        secrets = Dictionary(
            env.split(separator: "\n").filter { !$0.hasPrefix("#") && $0.contains("=") }.map {
                let parts = $0.split(separator: "=", maxSplits: 1)
                return (String(parts[0]), String(parts[1]))
            }) { $1 }
    }

    func read(_ file: String) -> String {
        (try? String(contentsOfFile: checkout.path + "/" + file, encoding: .utf8)) ?? ""
    }

    func history() throws -> [[String: Any]] {
        let result = Command.run(
            Command.scepops, ["history", "--format", "json", "--db", db], environment: ["SCEPOPS_SECRET_KEY": ReconcileCommandTests.key])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        return document["applies"] as? [[String: Any]] ?? []
    }

    /// The plan the merged change was reviewed with, as the artifact store keeps it.
    func keepPlan(_ name: String) throws -> String {
        let kept = state.path + "/" + name
        try? FileManager.default.removeItem(atPath: kept)
        try FileManager.default.copyItem(atPath: checkout.path + "/scepops.plan", toPath: kept)
        return kept
    }

    /// A second change reviewed, then applied by someone else first: its plan goes stale.
    func changeKiosks() {
        checkout.write("teams/kiosks.yml", "name: Kiosks\nenroll_secret: ${KIOSKS_ENROLL_SECRET}\nprofiles:\n  - profiles/wifi.mobileconfig\n")
        checkout.commitAll("kiosks: Wi-Fi only")
    }

    func applyDirectly() {
        let result = Command.run(
            Command.scepops, ["apply", "--ref", "HEAD", "--auto-approve", "--db", db], directory: checkout.path,
            environment: secrets.merging(["SCEPOPS_SECRET_KEY": ReconcileCommandTests.key]) { $1 })
        #expect(result.status == 0, "\(result.stderr)")
    }

    func expectNoSecrets(_ runner: PipelineRunner, _ jobs: [PipelineRunner.Job]) {
        let texts = jobs.map(\.output) + runner.calls() + ["comment.md", "plan.md", "drift.md", "scepops.plan"].map(read)
        for secret in secrets.values + [ReconcileCommandTests.key] {
            #expect(!texts.contains { $0.contains(secret) }, "a secret reached CI output")
        }
    }

    @Test func githubPlanCommentsOnceApplyTakesTheReviewedPlanAndDriftKeepsOneIssue() throws {
        var head = checkout.git("rev-parse", "HEAD")
        var expressions = Dictionary(uniqueKeysWithValues: secrets.map { ("secrets.\($0.key)", $0.value) })
        expressions["secrets.SCEPOPS_SECRET_KEY"] = ReconcileCommandTests.key
        expressions["vars.SCEPOPS_DB"] = db
        expressions["github.token"] = "stub-token"
        expressions["github.actor"] = "octocat"
        expressions["github.event.pull_request.number"] = "7"
        expressions["github.event.pull_request.head.sha"] = head
        var runner = PipelineRunner(checkout: checkout.path, environment: ["GITHUB_REPOSITORY": "acme/certs", "GITHUB_SHA": head])
        var jobs: [PipelineRunner.Job] = []

        // The pull request: a plan with changes, posted as a new comment, the plan file kept.
        let plan = try runner.github("scepops-plan.yml", job: "plan", expressions: expressions)
        jobs.append(plan)
        #expect(plan.status == 0, "\(plan.output)")
        #expect(plan.steps.map(\.name) == ["Plan", "Post or update the plan comment", "Result"])
        #expect(read("comment.md").hasPrefix("<!-- scepops-plan -->\n"))
        #expect(read("comment.md").contains("to create"))
        #expect(runner.calls().last == "gh api -X POST repos/acme/certs/issues/7/comments -F body=@comment.md")
        let upload = try #require(plan.uses["actions/upload-artifact@v4"])
        #expect(upload["name"] == "scepops-plan-\(head)")
        #expect(FileManager.default.fileExists(atPath: checkout.path + "/" + upload["path"]!))
        let reviewed = try keepPlan("reviewed.plan")

        // Another push to the pull request: the same comment is edited, not a second one.
        runner.resetLog()
        jobs.append(try runner.github("scepops-plan.yml", job: "plan", expressions: expressions, answers: ["STUB_COMMENT_ID": "991"]))
        #expect(runner.calls().last == "gh api -X PATCH repos/acme/certs/issues/comments/991 -F body=@comment.md")

        // The merge: a new commit with the reviewed config applies the reviewed plan.
        checkout.write("README.md", "merged\n")
        checkout.commitAll("Merge pull request #7")
        runner.environment["GITHUB_SHA"] = checkout.git("rev-parse", "HEAD")
        let apply = try runner.github(
            "scepops-apply.yml", job: "apply", expressions: expressions,
            answers: ["STUB_PR_HEAD": head, "STUB_REVIEWED_PLAN": reviewed])
        jobs.append(apply)
        #expect(apply.status == 0, "\(apply.output)")
        #expect(apply.output.contains("The reviewed plan: scepops-plan-\(head)"))
        #expect(apply.output.contains("the plan was made at commit \(head)"))
        #expect(apply.output.contains("Apply complete: 8 created"))
        #expect(try history().map { $0["actor"] as? String } == ["octocat"])

        // A reviewed plan that went stale: apply says so, plans again from main, and succeeds.
        changeKiosks()
        head = checkout.git("rev-parse", "HEAD")
        runner.environment["GITHUB_SHA"] = head
        expressions["github.event.pull_request.head.sha"] = head
        #expect(try runner.github("scepops-plan.yml", job: "plan", expressions: expressions).status == 0)
        let stale = try keepPlan("stale.plan")
        applyDirectly()
        let again = try runner.github(
            "scepops-apply.yml", job: "apply", expressions: expressions, answers: ["STUB_PR_HEAD": head, "STUB_REVIEWED_PLAN": stale])
        jobs.append(again)
        #expect(again.status == 0, "\(again.output)")
        #expect(again.output.contains("error[stale-plan]"))
        #expect(again.output.contains("::warning::The reviewed plan is stale"))
        #expect(again.output.contains("No changes."))
        #expect(try history().count == 2, "the re-plan found nothing left to apply")

        // Drift on a schedule: the CA is down, so the job fails and opens an issue …
        server.stop()
        runner.resetLog()
        let down = try runner.github("scepops-drift.yml", job: "drift", expressions: expressions)
        jobs.append(down)
        #expect(down.status == 1)
        #expect(down.steps.map(\.name) == ["Drift", "Open, update or close the drift issue", "Result"])
        #expect(read("drift.md").contains("ca-unreachable"))
        #expect(
            runner.calls().last
                == "gh issue create --repo acme/certs --title scepops: drift detected --label scepops-drift --body-file drift.md")
        // … the next run updates that issue …
        runner.resetLog()
        #expect(try runner.github("scepops-drift.yml", job: "drift", expressions: expressions, answers: ["STUB_ISSUE": "12"]).status == 1)
        #expect(runner.calls().last == "gh issue edit 12 --repo acme/certs --body-file drift.md")
        // … and once the CA is back, the job passes and closes it.
        try server.restart()
        runner.resetLog()
        let clean = try runner.github("scepops-drift.yml", job: "drift", expressions: expressions, answers: ["STUB_ISSUE": "12"])
        jobs.append(clean)
        #expect(clean.status == 0, "\(clean.output)")
        #expect(runner.calls().last == "gh issue close 12 --repo acme/certs --comment scepops drift is clean again.")
        expectNoSecrets(runner, jobs)
    }

    @Test func gitlabPlanApplyAndDrift() throws {
        let head = checkout.git("rev-parse", "HEAD")
        var variables = secrets
        variables["SCEPOPS_DB"] = db
        variables["SCEPOPS_SECRET_KEY"] = ReconcileCommandTests.key
        variables["SCEPOPS_GITLAB_TOKEN"] = "stub-token"
        variables["CI_API_V4_URL"] = "https://gitlab.example.com/api/v4"
        variables["CI_PROJECT_ID"] = "42"
        variables["CI_MERGE_REQUEST_IID"] = "7"
        variables["CI_COMMIT_SHA"] = head
        variables["GITLAB_USER_LOGIN"] = "alice"
        let runner = PipelineRunner(checkout: checkout.path, environment: [:])
        var jobs: [PipelineRunner.Job] = []
        let notes = "https://gitlab.example.com/api/v4/projects/42/merge_requests/7/notes"

        let plan = try runner.gitlab("scepops.gitlab-ci.yml", job: "scepops-plan", variables: variables)
        jobs.append(plan)
        #expect(plan.status == 0, "\(plan.output)")
        #expect(read("comment.md").hasPrefix("<!-- scepops-plan -->\n"))
        #expect(runner.calls().last?.hasPrefix("curl -sSf -X POST --header PRIVATE-TOKEN: stub-token --data-urlencode body@comment.md \(notes)") == true)
        let reviewed = try keepPlan("reviewed.plan")
        // The sticky note is found by its marker among the others (jq runs for real).
        runner.resetLog()
        let existing = #"[{"id": 4, "body": "LGTM"}, {"id": 5, "body": "<!-- scepops-plan -->\nold plan"}]"#
        jobs.append(try runner.gitlab("scepops.gitlab-ci.yml", job: "scepops-plan", variables: variables, answers: ["STUB_NOTES": existing]))
        #expect(runner.calls().last?.hasSuffix("--data-urlencode body@comment.md \(notes)/5") == true)

        // The merge: the reviewed plan from the merge request's plan job.
        checkout.write("README.md", "merged\n")
        checkout.commitAll("Merge branch 'wifi' into 'main'")
        variables["CI_COMMIT_SHA"] = checkout.git("rev-parse", "HEAD")
        runner.resetLog()
        let apply = try runner.gitlab(
            "scepops.gitlab-ci.yml", job: "scepops-apply", variables: variables,
            answers: ["STUB_MERGE_REQUESTS": #"[{"iid": 7}]"#, "STUB_REVIEWED_PLAN": reviewed])
        jobs.append(apply)
        #expect(apply.status == 0, "\(apply.output)")
        #expect(runner.calls().contains { $0.contains("/jobs/artifacts/refs%2Fmerge-requests%2F7%2Fhead/raw/scepops.plan?job=scepops-plan") })
        #expect(apply.output.contains("the plan was made at commit \(head)"))
        #expect(try history().map { $0["actor"] as? String } == ["alice"])

        // Stale: planning again.
        changeKiosks()
        variables["CI_COMMIT_SHA"] = checkout.git("rev-parse", "HEAD")
        #expect(try runner.gitlab("scepops.gitlab-ci.yml", job: "scepops-plan", variables: variables).status == 0)
        let stale = try keepPlan("stale.plan")
        applyDirectly()
        let again = try runner.gitlab(
            "scepops.gitlab-ci.yml", job: "scepops-apply", variables: variables,
            answers: ["STUB_MERGE_REQUESTS": #"[{"iid": 8}]"#, "STUB_REVIEWED_PLAN": stale])
        #expect(again.status == 0, "\(again.output)")
        #expect(again.output.contains("The reviewed plan is stale"))

        // Drift: an issue opened, then updated, then closed.
        let issues = "https://gitlab.example.com/api/v4/projects/42/issues"
        server.stop()
        runner.resetLog()
        let down = try runner.gitlab("scepops.gitlab-ci.yml", job: "scepops-drift", variables: variables)
        jobs.append(down)
        #expect(down.status == 1)
        #expect(runner.calls().last?.contains("-X POST") == true && runner.calls().last?.hasSuffix(issues) == true)
        runner.resetLog()
        #expect(try runner.gitlab("scepops.gitlab-ci.yml", job: "scepops-drift", variables: variables, answers: ["STUB_ISSUES": #"[{"iid": 3}]"#]).status == 1)
        #expect(runner.calls().last?.hasSuffix("--data-urlencode description@drift.md \(issues)/3") == true)
        try server.restart()
        runner.resetLog()
        let clean = try runner.gitlab("scepops.gitlab-ci.yml", job: "scepops-drift", variables: variables, answers: ["STUB_ISSUES": #"[{"iid": 3}]"#])
        jobs.append(clean)
        #expect(clean.status == 0, "\(clean.output)")
        #expect(runner.calls().last?.hasSuffix("--data state_event=close \(issues)/3") == true)
        expectNoSecrets(runner, jobs)
    }
}
