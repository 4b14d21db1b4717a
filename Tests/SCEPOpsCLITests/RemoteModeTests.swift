import Foundation
import SCEPOpsTestSupport
import Testing

/// Remote mode against a live `serve --admin-listen`: plan, apply and drift print what
/// local mode prints, with the same exit codes, and each token's role bounds what it may do.
///
/// Two states start alike: `here` is used in local mode, `there` is served. Each step runs
/// locally on `here` and remotely on `there`, and the two runs are compared.
@Suite("Remote mode")
struct RemoteModeTests {
    let work = TempRepo()
    let environment = ValidRepo.environment.merging(["SCEPOPS_SECRET_KEY": ReconcileCommandTests.key, "SCEPOPS_ACTOR": "tests"]) { $1 }

    func run(_ arguments: [String], db: String? = nil, token: String? = nil, server: String? = nil) async -> Command.Result {
        var environment = environment
        if let token, let server {
            environment["SCEPOPS_TOKEN"] = token
            environment["SCEPOPS_SERVER"] = server
            // No key and no database in remote mode.
            environment["SCEPOPS_SECRET_KEY"] = nil
        }
        return await Command.run(
            Command.scepops, arguments + (db.map { ["--db", $0] } ?? []), directory: work.path, environment: environment)
    }

    @Test func remotePlanApplyAndDriftPrintWhatLocalModePrints() async throws {
        let here = work.path + "/here.db"
        let there = work.path + "/there.db"
        let repo = ValidRepo.make()
        for db in [here, there] {
            let applied = await run(["apply", "--repo", repo.path, "--auto-approve", "--offline"], db: db)
            try #require(applied.status == 0, "\(applied.stderr)")
        }
        var tokens: [String: String] = [:]
        for role in ["read", "plan", "apply"] {
            tokens[role] = await run(["token", "create", "--name", "ci-\(role)", "--role", role], db: there).stdout
                .trimmingCharacters(in: .newlines)
        }
        let admin = try FreePort.pick()
        let serve = try ServeProcess(
            db: there, arguments: ["--admin-listen", "127.0.0.1:\(admin)"], directory: work.path, environment: environment)
        defer { serve.kill() }
        let server = "http://127.0.0.1:\(admin)"
        var outputs: [Command.Result] = []

        /// Runs `arguments` both ways and expects the same stdout, stderr and exit code.
        func same(_ arguments: [String], role: String, status: Int32, _ note: String) async {
            let local = await run(arguments, db: here)
            let remote = await run(arguments, token: tokens[role], server: server)
            outputs += [local, remote]
            #expect(local.status == status, "\(note), local: \(local.stderr)")
            #expect(remote.status == local.status, "\(note): remote exit \(remote.status): \(remote.stderr)")
            #expect(remote.stdout == local.stdout, "\(note): stdout differs:\n\(remote.stdout)\n---\n\(local.stdout)")
            #expect(remote.stderr == local.stderr, "\(note): stderr differs: \(remote.stderr) vs \(local.stderr)")
        }

        // Nothing to do yet.
        await same(["plan", "--repo", repo.path, "--offline", "--detailed-exitcode"], role: "plan", status: 0, "no changes")
        await same(["drift", "--repo", repo.path, "--offline"], role: "read", status: 0, "no drift")

        // A change in review: a new profile for the Kiosks and a new challenge.
        repo.write("profiles/kiosk-vpn.mobileconfig", ValidRepo.profile(
            challenge: "$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_VPN", url: "$FLEET_VAR_CUSTOM_SCEP_PROXY_URL_VPN",
            identifier: "com.example.kiosk-vpn"))
        for format in ["text", "markdown", "json"] {
            await same(
                ["plan", "--repo", repo.path, "--offline", "--detailed-exitcode", "--format", format], role: "plan", status: 2,
                "plan --format \(format)")
            await same(["drift", "--repo", repo.path, "--offline", "--format", format], role: "read", status: 2, "drift \(format)")
        }

        // Each role reaches only its calls, and a refused call changes nothing.
        let reader = await run(["plan", "--repo", repo.path, "--offline"], token: tokens["read"], server: server)
        #expect(reader.status == 1 && reader.stderr == "error[forbidden]: a read token may not call plan\n", "\(reader.stderr)")
        let planner = await run(["apply", "--repo", repo.path, "--offline", "--auto-approve"], token: tokens["plan"], server: server)
        #expect(planner.status == 1 && planner.stderr == "error[forbidden]: a plan token may not call apply\n", "\(planner.stderr)")
        let status = await run(["status"], db: there)
        #expect(status.stdout.contains("State revision 1\n"), "nothing applied by a plan token: \(status.stdout)")
        outputs += [reader, planner]

        // A saved plan applies as reviewed, both ways.
        let planned = await run(["plan", "--repo", repo.path, "--offline", "--out", work.path + "/here.plan"], db: here)
        let plannedThere = await run(
            ["plan", "--repo", repo.path, "--offline", "--out", work.path + "/there.plan"], token: tokens["plan"], server: server)
        #expect(planned.status == 0 && plannedThere.status == 0 && plannedThere.stdout == planned.stdout, "\(plannedThere.stderr)")
        let planFile = try String(contentsOfFile: work.path + "/there.plan", encoding: .utf8)
        let here1 = await run(["apply", work.path + "/here.plan", "--repo", repo.path, "--offline"], db: here)
        let there1 = await run(["apply", work.path + "/there.plan", "--repo", repo.path, "--offline"], token: tokens["apply"], server: server)
        outputs += [planned, plannedThere, here1, there1]
        #expect(here1.status == 0 && there1.status == 0, "\(there1.stderr)")
        #expect(there1.stdout == here1.stdout && there1.stdout.contains("Apply complete: 1 created"), "\(there1.stdout)")

        // Applied once, a plan file is stale: refused alike, and nothing changes.
        await same(["apply", work.path + "/here.plan", "--repo", repo.path, "--offline"], role: "apply", status: 1, "stale plan file")
        // Both plan files name the same state revision and digests: only the file differs.
        #expect(planFile.contains("\"state_revision\" : 1"))

        // An apply without a plan file, and a config with an error.
        repo.remove("profiles/kiosk-vpn.mobileconfig")
        await same(["apply", "--repo", repo.path, "--offline", "--auto-approve"], role: "apply", status: 0, "apply a removal")
        await same(["apply", "--repo", repo.path, "--offline", "--auto-approve"], role: "apply", status: 0, "nothing to apply")
        repo.write("teams/broken.yml", "name: Broken\nprofiles: nope\n")
        await same(["plan", "--repo", repo.path, "--offline"], role: "plan", status: 1, "a config with errors")
        await same(["apply", "--repo", repo.path, "--offline", "--auto-approve"], role: "apply", status: 1, "apply refuses errors")
        await same(["drift", "--repo", repo.path, "--offline"], role: "read", status: 1, "drift of a config with errors")
        repo.remove("teams/broken.yml")

        // The history of the served state reads the same both ways, and names the token.
        for command in [
            ["history"], ["status"], ["hosts"], ["hosts", "--team", "Kiosks", "--format", "json"], ["certificates"],
            ["certificates", "--expiring", "30d", "--ca", "WIFI", "--format", "csv"],
        ] {
            let local = await run(command, db: there)
            let remote = await run(command, token: tokens["read"], server: server)
            #expect(remote.status == 0 && remote.stdout == local.stdout, "\(command): \(remote.stderr)")
            outputs.append(remote)
        }
        #expect(await run(["history"], db: there).stdout.contains("tests (token ci-apply)"))

        // No secret and no token anywhere: not in serve's log, nor in any output.
        let secrets = Array(ValidRepo.environment.values) + Array(tokens.values)
        for secret in secrets {
            #expect(!serve.log.contains(secret))
            for output in outputs { #expect(!output.stdout.contains(secret) && !output.stderr.contains(secret)) }
            #expect(!planFile.contains(secret))
        }
    }

    /// A pull request from a fork has no secrets: `plan --without-secrets` reads none, says
    /// so on each secret field, and its plan file is refused by apply in both modes.
    @Test func planWithoutSecretsReadsNoneAndItsPlanFileIsNeverApplied() async throws {
        let db = work.path + "/state.db"
        let repo = ValidRepo.make()
        let applied = await run(["apply", "--repo", repo.path, "--auto-approve", "--offline"], db: db)
        try #require(applied.status == 0, "\(applied.stderr)")
        let planToken = await run(["token", "create", "--name", "fork", "--role", "plan"], db: db).stdout.trimmingCharacters(in: .newlines)
        let applyToken = await run(["token", "create", "--name", "main", "--role", "apply"], db: db).stdout.trimmingCharacters(in: .newlines)
        let admin = try FreePort.pick()
        let serve = try ServeProcess(
            db: db, arguments: ["--admin-listen", "127.0.0.1:\(admin)"], directory: work.path, environment: environment)
        defer { serve.kill() }
        let server = "http://127.0.0.1:\(admin)"
        // The fork's job: the key and no secret at all (local), or the plan token (remote).
        let fork = ["SCEPOPS_SECRET_KEY": ReconcileCommandTests.key]
        func forkRun(_ arguments: [String], remote: Bool) async -> Command.Result {
            await Command.run(
                Command.scepops, arguments + (remote ? [] : ["--db", db]), directory: work.path,
                environment: remote ? ["SCEPOPS_SERVER": server, "SCEPOPS_TOKEN": planToken] : fork)
        }

        let withSecrets = await forkRun(["plan", "--repo", repo.path, "--offline"], remote: false)
        #expect(withSecrets.status == 1 && withSecrets.stdout.contains("env-unset"), "without the flag, an unset secret is an error")

        repo.write("profiles/kiosk-vpn.mobileconfig", ValidRepo.profile(
            challenge: "$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_VPN", url: "$FLEET_VAR_CUSTOM_SCEP_PROXY_URL_VPN",
            identifier: "com.example.kiosk-vpn"))
        var results: [Command.Result] = []
        for remote in [false, true] {
            let planned = await forkRun(
                ["plan", "--repo", repo.path, "--offline", "--without-secrets", "--detailed-exitcode", "--out", work.path + "/fork-\(remote).plan"],
                remote: remote)
            results.append(planned)
            #expect(planned.status == 2, "\(planned.stderr)")
            #expect(planned.stderr.contains("for review only: made with --without-secrets, it can never be applied"))
            let unchecked = planned.stdout.split(separator: "\n").filter { $0.contains("secret-unchecked") }
            #expect(unchecked.count == 4, "one per secret field: \(planned.stdout)")
            for (file, line) in [("certificate_authorities/wifi.yml", 3), ("certificate_authorities/vpn.yml", 3), ("teams/workstations.yml", 2), ("teams/kiosks.yml", 2)] {
                #expect(unchecked.contains { $0.contains("\(file):\(line):") }, "\(file):\(line) in \(unchecked)")
            }
            #expect(!planned.stdout.contains("(sensitive value changed)"), "an unread secret is never a change")
            let planFile = try String(contentsOfFile: work.path + "/fork-\(remote).plan", encoding: .utf8)
            #expect(planFile.contains("\"unchecked_secrets\" : true"))
        }
        #expect(results[0].stdout == results[1].stdout, "remote prints what local prints")

        // On merge, with every secret and an apply token: still refused, and nothing changes.
        for remote in [false, true] {
            let refused = await run(
                ["apply", work.path + "/fork-\(remote).plan", "--repo", repo.path, "--offline"], db: remote ? nil : db,
                token: remote ? applyToken : nil, server: remote ? server : nil)
            #expect(refused.status == 1, "\(refused.stderr)")
            #expect(refused.stderr.hasPrefix("error[plan-without-secrets]: the plan was made with --without-secrets"), "\(refused.stderr)")
        }
        #expect(await run(["status"], db: db).stdout.hasPrefix("State revision 1\n"))
        for secret in Array(ValidRepo.environment.values) + [planToken, applyToken] { #expect(!serve.log.contains(secret)) }
    }
}
