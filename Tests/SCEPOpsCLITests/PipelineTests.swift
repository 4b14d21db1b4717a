import Foundation
import SCEPOpsTestSupport
import Testing

/// The pipelines users copy from ci/pipelines, run step by step against a real git
/// checkout of examples/basic, a real state, a real scepserver and, for remote mode, a live
/// `scepops serve` with its admin API over TLS on loopback, so that they cannot rot: the exit
/// codes, the comment and issue bodies, and the API calls made.
@Suite("CI pipelines in ci/pipelines", .serialized)
struct PipelineTests {
    let server: SCEPServer
    let checkout = TempRepo()
    let state = TempRepo()
    let secrets: [String: String]
    var db: String { state.path + "/scepops.db" }
    let key = ["SCEPOPS_SECRET_KEY": ReconcileCommandTests.key]

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
        let result = Command.run(Command.scepops, ["history", "--format", "json", "--db", db], environment: key)
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

    func applyDirectly(ref: String = "HEAD") {
        let result = Command.run(
            Command.scepops, ["apply", "--ref", ref, "--auto-approve", "--db", db], directory: checkout.path,
            environment: secrets.merging(key) { $1 })
        #expect(result.status == 0, "\(result.stderr)")
    }

    func expectNoSecrets(_ runner: PipelineRunner, _ jobs: [PipelineRunner.Job], tokens: [String] = [], log: String = "") {
        let texts = jobs.map(\.output) + runner.calls() + ["comment.md", "plan.md", "drift.md", "replan.md", "scepops.plan"].map(read) + [log]
        for secret in secrets.values + [ReconcileCommandTests.key] + tokens {
            #expect(!texts.contains { $0.contains(secret) }, "a secret reached CI output")
        }
    }

    /// A certificate for 127.0.0.1, its own CA: what SCEPOPS_SERVER_CA_PEM holds.
    func serverCertificate() throws -> (certificate: String, key: String) {
        let made = Command.run(
            "/usr/bin/openssl",
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "admin.key", "-out", "admin.pem", "-days", "2",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], directory: state.path)
        #expect(made.status == 0, "\(made.stderr)")
        return (state.path + "/admin.pem", state.path + "/admin.key")
    }

    func token(_ role: String) -> String {
        Command.run(Command.scepops, ["token", "create", "--name", "ci-\(role)", "--role", role, "--db", db], environment: key)
            .stdout.trimmingCharacters(in: .newlines)
    }

    /// GitHub-hosted runners in remote mode: plan with a plan token (and without secrets for
    /// a fork), apply on merge with an apply token and only what was reviewed, drift with a
    /// read token. No database and no key on the runner.
    @Test func githubHostedRunnersPlanApplyOnlyWhatWasReviewedAndKeepOneDriftIssue() throws {
        let tls = try serverCertificate()
        let admin = try FreePort.pick()
        let serve = try ServeProcess(
            db: db, arguments: ["--admin-listen", "127.0.0.1:\(admin)"], directory: state.path, environment: key, tls: tls)
        defer { serve.kill() }
        let tokens = ["read": token("read"), "plan": token("plan"), "apply": token("apply")]
        var head = checkout.git("rev-parse", "HEAD")
        var expressions = Dictionary(uniqueKeysWithValues: secrets.map { ("secrets.\($0.key)", $0.value) })
        expressions["vars.SCEPOPS_SERVER"] = "https://127.0.0.1:\(admin)"
        expressions["vars.SCEPOPS_SERVER_CA_PEM"] = try String(contentsOfFile: tls.certificate, encoding: .utf8)
        expressions["vars.SCEPOPS_RELEASE_URL"] = "https://releases.example.invalid/scepops.tar.gz"
        expressions["secrets.SCEPOPS_PLAN_TOKEN"] = tokens["plan"]
        expressions["secrets.SCEPOPS_APPLY_TOKEN"] = tokens["apply"]
        expressions["secrets.SCEPOPS_READ_TOKEN"] = tokens["read"]
        expressions["github.token"] = "stub-token"
        expressions["github.actor"] = "octocat"
        expressions["github.event.pull_request.number"] = "7"
        expressions["github.event.pull_request.head.sha"] = head
        expressions["github.event.pull_request.head.repo.fork"] = "false"
        var runner = PipelineRunner(checkout: checkout.path, environment: ["GITHUB_REPOSITORY": "acme/certs", "GITHUB_SHA": head])
        var jobs: [PipelineRunner.Job] = []
        func applyJob(pr: String, head: String, plan: String?) throws -> PipelineRunner.Job {
            runner.resetLog()
            let job = try runner.github(
                "scepops-apply.yml", job: "apply", expressions: expressions,
                answers: ["STUB_PR_NUMBER": pr, "STUB_PR_HEAD": head, "STUB_REVIEWED_PLAN": plan ?? ""])
            jobs.append(job)
            return job
        }

        // The pull request: a plan with changes, posted as a new comment, the plan file kept.
        let plan = try runner.github("scepops-plan.yml", job: "plan", expressions: expressions)
        jobs.append(plan)
        #expect(plan.status == 0, "\(plan.output)")
        #expect(plan.steps.map(\.name) == ["Install scepops", "Plan", "Post or update the plan comment", "Result"])
        #expect(plan.uses["actions/checkout@v4"]?["ref"] == head, "the pull request's head, not the base")
        #expect(read("comment.md").hasPrefix("<!-- scepops-plan -->\n"))
        #expect(read("comment.md").contains("8 to create"), "\(read("comment.md"))")
        #expect(runner.calls().last == "gh api -X POST repos/acme/certs/issues/7/comments -F body=@comment.md")
        let upload = try #require(plan.uses["actions/upload-artifact@v4"])
        #expect(upload["name"] == "scepops-plan-\(head)")
        let reviewed = try keepPlan("reviewed.plan")
        #expect(try history().isEmpty, "a plan changes nothing")

        // Another push to the pull request: the same comment is edited, not a second one.
        runner.resetLog()
        jobs.append(try runner.github("scepops-plan.yml", job: "plan", expressions: expressions, answers: ["STUB_COMMENT_ID": "991"]))
        #expect(runner.calls().last == "gh api -X PATCH repos/acme/certs/issues/comments/991 -F body=@comment.md")

        // A plan token cannot apply.
        var planOnly = expressions
        planOnly["secrets.SCEPOPS_APPLY_TOKEN"] = tokens["plan"]
        let refused = try runner.github(
            "scepops-apply.yml", job: "apply", expressions: planOnly, answers: ["STUB_PR_NUMBER": "7", "STUB_PR_HEAD": head, "STUB_REVIEWED_PLAN": reviewed])
        jobs.append(refused)
        #expect(refused.status == 1 && refused.output.contains("error[forbidden]: a plan token may not call apply"), "\(refused.output)")

        // The merge: a new commit with the reviewed config applies the reviewed plan.
        checkout.write("README.md", "merged\n")
        checkout.commitAll("Merge pull request #7")
        runner.environment["GITHUB_SHA"] = checkout.git("rev-parse", "HEAD")
        let apply = try applyJob(pr: "7", head: head, plan: reviewed)
        #expect(apply.status == 0, "\(apply.output)")
        #expect(apply.output.contains("The reviewed plan: scepops-plan-\(head) (pull request #7)"))
        #expect(apply.output.contains("the plan was made at commit \(head)"))
        #expect(apply.output.contains("Apply complete: 8 created"))
        #expect(try history().map { $0["actor"] as? String } == ["octocat (token ci-apply)"])

        // Stale but the same: pull request #8 changes the Kiosks; meanwhile another change
        // (the Workstations) is applied from a branch and merged first. Planning again on
        // the merge gives exactly #8's change, so that is applied.
        let base = checkout.git("rev-parse", "HEAD")
        changeKiosks()
        head = checkout.git("rev-parse", "HEAD")
        expressions["github.event.pull_request.number"] = "8"
        expressions["github.event.pull_request.head.sha"] = head
        #expect(try runner.github("scepops-plan.yml", job: "plan", expressions: expressions).status == 0)
        let kiosks = try keepPlan("kiosks.plan")
        checkout.git("checkout", "-q", "-b", "workstations", base)
        checkout.write("teams/workstations.yml", "name: Workstations\nenroll_secret: ${WORKSTATIONS_ENROLL_SECRET}\nprofiles:\n  - profiles/wifi.mobileconfig\n")
        checkout.commitAll("workstations: Wi-Fi only")
        applyDirectly()
        checkout.git("checkout", "-q", "main")
        checkout.git("merge", "-q", "--no-edit", "workstations")
        runner.environment["GITHUB_SHA"] = checkout.git("rev-parse", "HEAD")
        let same = try applyJob(pr: "8", head: head, plan: kiosks)
        #expect(same.status == 0, "\(same.output)")
        #expect(same.output.contains("the reviewed plan is stale, but planning again gives exactly its 1 change(s)"), "\(same.output)")
        #expect(try history().count == 3)

        // Stale and different: #9 is reviewed, then main gets a change nobody reviewed. The
        // merge applies nothing, fails, and asks on #9 for a new plan.
        checkout.write(
            "teams/workstations.yml",
            "name: Workstations\nenroll_secret: ${WORKSTATIONS_ENROLL_SECRET}\nprofiles:\n  - profiles/seed-sample.mobileconfig\n  - profiles/wifi.mobileconfig\n")
        checkout.commitAll("workstations: the seed profile again")
        head = checkout.git("rev-parse", "HEAD")
        expressions["github.event.pull_request.number"] = "9"
        expressions["github.event.pull_request.head.sha"] = head
        #expect(try runner.github("scepops-plan.yml", job: "plan", expressions: expressions).status == 0)
        let vpn = try keepPlan("vpn.plan")
        checkout.write("teams/kiosks.yml", "name: Kiosks\nenroll_secret: ${KIOSKS_ENROLL_SECRET}\nprofiles: []\n")
        checkout.commitAll("kiosks: nothing, unreviewed")
        runner.environment["GITHUB_SHA"] = checkout.git("rev-parse", "HEAD")
        let differs = try applyJob(pr: "9", head: head, plan: vpn)
        #expect(differs.status == 1)
        #expect(differs.output.contains("error[reviewed-changes-differ]"), "\(differs.output)")
        #expect(runner.calls().last == "gh api -X POST repos/acme/certs/issues/9/comments -F body=@replan.md")
        #expect(read("replan.md").contains("planning again gives other changes than the reviewed ones"))
        #expect(try history().count == 3, "nothing applied")

        // A push without a pull request applies nothing.
        let unreviewed = try applyJob(pr: "", head: "", plan: nil)
        #expect(unreviewed.status == 1 && unreviewed.output.contains("::error::No reviewed plan for"), "\(unreviewed.output)")
        #expect(unreviewed.steps.map(\.name) == ["Install scepops", "Fetch the reviewed plan"])

        // A fork's pull request: planned without a single secret, and its plan never applies.
        expressions["github.event.pull_request.number"] = "10"
        expressions["github.event.pull_request.head.repo.fork"] = "true"
        let fork = try runner.github("scepops-plan.yml", job: "plan", expressions: expressions)
        jobs.append(fork)
        #expect(fork.status == 0, "\(fork.output)")
        #expect(read("comment.md").contains("secret-unchecked"), "\(read("comment.md"))")
        let forkPlan = try keepPlan("fork.plan")
        let forkApply = try applyJob(pr: "10", head: head, plan: forkPlan)
        #expect(forkApply.status == 1 && forkApply.output.contains("error[plan-without-secrets]"), "\(forkApply.output)")
        #expect(try history().count == 3)

        // Drift on a schedule, with a read token: the CA is down, so the job fails and opens an issue …
        applyDirectly()
        server.stop()
        runner.resetLog()
        let down = try runner.github("scepops-drift.yml", job: "drift", expressions: expressions)
        jobs.append(down)
        #expect(down.status == 1)
        #expect(down.steps.map(\.name) == ["Install scepops", "Drift", "Open, update or close the drift issue", "Result"])
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
        #expect(!runner.calls().contains { $0.contains("releases.example.invalid") }, "scepops was on PATH: nothing installed")
        expectNoSecrets(runner, jobs, tokens: Array(tokens.values), log: serve.log)
    }

    /// The GitLab pipeline in its self-hosted variant: local mode on the state's host
    /// (SCEPOPS_DB and the key instead of a server and tokens), with the same scripts.
    @Test func gitlabSelfHostedPlanApplyOnlyWhatWasReviewedAndDrift() throws {
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
        #expect(again.output.contains("the reviewed plan is stale, and the state is already as the config wants it"), "\(again.output)")

        // Reviewed, then changed on the default branch without review: nothing is applied,
        // and the merge request is asked for a new plan.
        checkout.write("teams/kiosks.yml", "name: Kiosks\nenroll_secret: ${KIOSKS_ENROLL_SECRET}\nprofiles: []\n")
        checkout.commitAll("kiosks: nothing")
        #expect(try runner.gitlab("scepops.gitlab-ci.yml", job: "scepops-plan", variables: variables).status == 0)
        let reviewedEmpty = try keepPlan("empty.plan")
        checkout.write("teams/workstations.yml", "name: Workstations\nenroll_secret: ${WORKSTATIONS_ENROLL_SECRET}\nprofiles:\n  - profiles/wifi.mobileconfig\n")
        checkout.commitAll("workstations: Wi-Fi only, unreviewed")
        variables["CI_COMMIT_SHA"] = checkout.git("rev-parse", "HEAD")
        runner.resetLog()
        let applies = try history().count
        let differs = try runner.gitlab(
            "scepops.gitlab-ci.yml", job: "scepops-apply", variables: variables,
            answers: ["STUB_MERGE_REQUESTS": #"[{"iid": 9}]"#, "STUB_REVIEWED_PLAN": reviewedEmpty])
        jobs.append(differs)
        #expect(differs.status == 1 && differs.output.contains("error[reviewed-changes-differ]"), "\(differs.output)")
        #expect(runner.calls().last?.hasSuffix("--data-urlencode body@replan.md https://gitlab.example.com/api/v4/projects/42/merge_requests/9/notes") == true)
        #expect(try history().count == applies, "nothing applied")
        let unreviewed = try runner.gitlab("scepops.gitlab-ci.yml", job: "scepops-apply", variables: variables)
        #expect(unreviewed.status == 1 && unreviewed.output.contains("No reviewed plan for"), "\(unreviewed.output)")
        applyDirectly()

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
