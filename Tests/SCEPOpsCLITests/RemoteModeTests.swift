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
        return await Command.runDetached(
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
        for command in [["history"], ["status"]] {
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
}
