import Foundation
import SCEPOpsTestSupport
import Testing

/// plan, apply and status as a user runs them: the built binary, a real scepserver, a
/// real git repo and a real database file.
@Suite("scepops plan and apply", .serialized)
struct ReconcileCommandTests {
    public static let key = Data((0..<32).map { UInt8($0 * 7 % 256) }).base64EncodedString()

    let server: SCEPServer
    let repo: TempRepo
    let work = TempRepo()
    var environment = ValidRepo.environment.merging(["SCEPOPS_SECRET_KEY": key, "SCEPOPS_ACTOR": "ci-bot"]) { $1 }

    init() throws {
        server = try SCEPServer()
        repo = ValidRepo.make()
        repo.write("certificate_authorities/wifi.yml", ValidRepo.wifiCA.replacingOccurrences(of: "https://scep.example.com/scep", with: server.url))
        repo.write("certificate_authorities/vpn.yml", ValidRepo.vpnCA.replacingOccurrences(of: "http://127.0.0.1:2016/scep", with: server.url))
        repo.commitAll()
    }

    /// Set by a test that runs on another backend than the file (`use`).
    final class Selected: @unchecked Sendable { var database: String?; var backend = TestBackend.sqlite }
    let selected = Selected()
    var db: String { selected.database ?? work.path + "/state.db" }

    func use(_ backend: TestBackend) throws {
        selected.backend = backend
        selected.database = backend == .sqlite ? nil : try backend.database(in: work.path)
    }

    func scepops(_ arguments: [String], environment: [String: String]? = nil) -> Command.Result {
        Command.run(Command.scepops, arguments + (arguments.first == "status" ? [] : ["--repo", repo.path]) + ["--db", db],
            directory: work.path, environment: environment ?? self.environment)
    }

    func status() throws -> [String: Any] {
        let result = scepops(["status", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    /// The first plan, with no state and no key yet, saved and then applied by the very
    /// command it prints: the key it made the secret digests with is the one apply uses.
    @Test func aFirstPlanFileAppliesWithThePrintedCommand() throws {
        var keyless = environment
        keyless["SCEPOPS_SECRET_KEY"] = nil
        let database = work.path + "/first state.db"
        let planned = Command.run(
            Command.scepops, ["plan", "--repo", repo.path, "--ref", "HEAD", "--db", database, "--out", "first.plan"],
            directory: work.path, environment: keyless)
        #expect(planned.status == 0, "\(planned.stderr)")
        #expect(!FileManager.default.fileExists(atPath: database), "plan creates no state")
        #expect(FileManager.default.fileExists(atPath: database + ".key") && planned.stderr.contains("created the secret key"))
        let hint = try #require(planned.stderr.firstMatch(of: /Apply exactly this plan with: (scepops apply .*)\n/)).1
        #expect(hint == "scepops apply --repo \(repo.path) --ref HEAD --db '\(database)' first.plan", "\(hint)")
        let applied = Command.run(
            "/bin/sh", ["-c", "exec \"$0\"" + hint.dropFirst("scepops".count), Command.scepops], directory: work.path, environment: keyless)
        #expect(applied.status == 0 && applied.stdout.contains("Apply complete: 8 created"), "\(applied.stdout)\(applied.stderr)")
    }

    /// An apply of a working tree whose files differ from HEAD is recorded with a mark, not
    /// as HEAD's commit alone.
    @Test func anApplyOfUncommittedFilesIsMarkedInTheHistory() throws {
        #expect(scepops(["apply", "--auto-approve"]).status == 0)
        var edited = environment
        edited["KIOSK_LOCAL_SECRET"] = "kiosk-local-secret"
        let kiosks = try String(contentsOf: repo.url("teams/kiosks.yml"), encoding: .utf8)
        repo.write("teams/kiosks.yml", kiosks.replacingOccurrences(of: "${KIOSK_SECRET}", with: "${KIOSK_LOCAL_SECRET}"))
        let applied = scepops(["apply", "--auto-approve"], environment: edited)
        #expect(applied.status == 0 && applied.stdout.contains("with uncommitted changes"), "\(applied.stdout)\(applied.stderr)")
        func history(_ arguments: [String]) -> String {
            Command.run(Command.scepops, ["history", "--db", db] + arguments, directory: work.path, environment: edited).stdout
        }
        let json = history(["--format", "json"])
        let applies = try #require((try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])?["applies"] as? [[String: Any]])
        #expect(applies.map { $0["ref"] as? String } == ["working tree with uncommitted changes", nil], "\(applies)")
        let lines = history([]).split(separator: "\n")
        #expect(lines.first?.contains("+uncommitted  ci-bot") == true && lines.last?.contains("+uncommitted") == false, "\(lines)")
    }

    @Test func planThenApplyThenPlanShowsNoChanges() throws {
        let first = scepops(["plan", "--detailed-exitcode"])
        #expect(first.status == 2, "\(first.stdout)\(first.stderr)")
        #expect(first.stdout.contains("Plan: 8 to create, 0 to update, 0 to delete, 0 to replace; 0 unchanged."))
        #expect(first.stdout.contains("GetCACert answered for 2 of 2"))
        #expect(!FileManager.default.fileExists(atPath: db), "plan must not create the state")

        let apply = scepops(["apply", "--auto-approve"])
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        #expect(apply.stdout.contains("Apply complete: 8 created"))

        let again = scepops(["plan", "--detailed-exitcode"])
        #expect(again.status == 0)
        #expect(again.stdout.contains("No changes. The state matches the config (8 unchanged)."))
        let reapply = scepops(["apply", "--auto-approve"])
        #expect(reapply.status == 0)
        #expect(reapply.stdout.contains("No changes."))

        let state = try status()
        #expect(state["revision"] as? Int == 1)
        let last = try #require(state["last_apply"] as? [String: Any])
        #expect(last["id"] as? Int == 1, "an identical re-apply writes no history")
        #expect(last["actor"] as? String == "ci-bot")
        #expect(last["commit"] as? String == repo.git("rev-parse", "HEAD"))
        let cas = try #require(state["certificate_authorities"] as? [[String: Any]])
        let certificate = try #require(cas.first?["certificate"] as? [String: Any])
        #expect((certificate["fingerprint"] as? String)?.count == 64)
        #expect(state["host_profiles"] as? [String: Int] == ["pending": 0, "sent": 0, "verified": 0, "failed": 0])
    }

    @Test func applyOffATerminalNeedsAutoApprove() {
        let result = scepops(["apply"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("--auto-approve"))
        // A refused first run leaves nothing behind: no state, no -wal or -shm.
        for suffix in ["", "-wal", "-shm"] { #expect(!FileManager.default.fileExists(atPath: db + suffix)) }
        let statusResult = scepops(["status"])
        #expect(statusResult.stderr.contains("there is no state"))
    }

    @Test(arguments: TestBackend.all)
    func aStalePlanIsRefusedAndNothingIsWritten(_ backend: TestBackend) throws {
        try use(backend)
        let out = work.path + "/plan.json"
        #expect(scepops(["plan", "--out", out]).status == 0)
        #expect(FileManager.default.fileExists(atPath: out))
        // The state moves on under the saved plan.
        #expect(scepops(["apply", "--auto-approve"]).status == 0)
        let before = try status()
        let stale = scepops(["apply", out])
        #expect(stale.status == 1)
        #expect(stale.stderr.contains("stale"))
        #expect(stale.stderr.contains("revision 0, now 1"))
        let after = try status()
        #expect(after["revision"] as? Int == before["revision"] as? Int)
        #expect((after["last_apply"] as? [String: Any])?["id"] as? Int == 1)
    }

    @Test func aSavedPlanAppliesExactlyAndOnlyWhileItsConfigSecretsAndStateHold() throws {
        let out = work.path + "/plan.json"
        #expect(scepops(["plan", "--ref", "HEAD", "--out", out]).status == 0)

        // A secret that changed since the plan: refused, and named without its value.
        var changed = environment
        changed["WIFI_CHALLENGE"] = "rotated-wifi-challenge-value"
        let secret = scepops(["apply", "--ref", "HEAD", out], environment: changed)
        #expect(secret.status == 1)
        #expect(secret.stderr.contains("certificate_authority/WIFI/challenge"))
        #expect(!secret.stderr.contains("rotated-wifi-challenge-value"))

        // A new commit that changes the config: refused.
        let planned = repo.git("rev-parse", "HEAD")
        repo.write("teams/kiosks.yml", ValidRepo.kiosks.replacingOccurrences(of: "**/*.mobileconfig", with: "wifi.mobileconfig"))
        repo.commitAll("kiosks")
        let moved = scepops(["apply", "--ref", "HEAD", out])
        #expect(moved.status == 1)
        #expect(moved.stderr.contains("error[stale-plan]"))
        #expect(moved.stderr.contains("made from commit \(planned), and the config at"))
        #expect(!FileManager.default.fileExists(atPath: db), "a refused first apply leaves no state")

        // A later commit with the same config (as a merge makes) applies the reviewed plan, and says so.
        repo.write("teams/kiosks.yml", ValidRepo.kiosks)
        repo.write("README.md", "docs only\n")
        repo.commitAll("revert, and docs")
        let merged = scepops(["apply", "--ref", "HEAD", out])
        #expect(merged.status == 0, "\(merged.stdout)\(merged.stderr)")
        #expect(merged.stderr.contains("the plan was made at commit \(planned)"))
        #expect(try status()["revision"] as? Int == 1)

        // Applied once: the same plan file is now stale against the state.
        let twice = scepops(["apply", "--ref", "HEAD", out])
        #expect(twice.status == 1)
        #expect(twice.stderr.contains("revision 0, now 1"))
    }

    @Test(arguments: TestBackend.all)
    func ofTwoConcurrentAppliesOneWinsAndTheOtherNamesTheHolder(_ backend: TestBackend) throws {
        try use(backend)
        let marker = work.path + "/holding"
        var holding = environment
        holding["SCEPOPS_TEST_HOLD_APPLY"] = marker
        holding["SCEPOPS_ACTOR"] = "first-apply"
        let first = try Command.start(
            Command.scepops, ["apply", "--auto-approve", "--repo", repo.path, "--db", db], directory: work.path,
            environment: holding)
        try waitFor(marker)

        let second = scepops(["apply", "--auto-approve"])
        #expect(second.status == 1)
        #expect(second.stderr.contains("locked by an apply of first-apply"))
        #expect(second.stderr.contains("pid \(first.pid)"))
        #expect(second.stderr.contains("commit \(repo.git("rev-parse", "HEAD").prefix(12))"))

        // One that waits for the lease plans after the first has applied: nothing left to do.
        let patient = try Command.start(
            Command.scepops, ["apply", "--auto-approve", "--lock-timeout", "60", "--repo", repo.path, "--db", db],
            directory: work.path, environment: environment)
        usleep(500_000)
        try FileManager.default.removeItem(atPath: marker)
        let firstResult = first.wait()
        let patientResult = patient.wait()
        #expect(patientResult.status == 0, "\(patientResult.stderr)")
        #expect(patientResult.stdout.contains("No changes."))
        #expect(firstResult.status == 0, "\(firstResult.stderr)")
        let state = try status()
        #expect(state["revision"] as? Int == 1)
        #expect((state["profiles"] as? [Any])?.count == 4)
    }

    @Test(arguments: TestBackend.all)
    func aKilledApplyLeavesTheStateAsItWasAndTheNextOneSucceeds(_ backend: TestBackend) throws {
        try use(backend)
        #expect(scepops(["apply", "--auto-approve", "--offline"]).status == 0)
        repo.write("teams/kiosks.yml", "name: Kiosks\nenroll_secret: ${KIOSK_SECRET}\nprofiles: []\n")
        repo.remove("certificate_authorities/vpn.yml")
        repo.remove("profiles/vpn/vpn.mobileconfig")
        repo.write("teams/workstations.yml", "name: Workstations\nenroll_secret: ${WS_SECRET}\nprofiles: [profiles/wifi.mobileconfig]\n")
        let before = scepops(["status", "--format", "json"]).stdout

        let marker = work.path + "/holding"
        var holding = environment
        holding["SCEPOPS_TEST_HOLD_APPLY"] = marker
        let victim = try Command.start(
            Command.scepops, ["apply", "--auto-approve", "--repo", repo.path, "--db", db], directory: work.path,
            environment: holding)
        try waitFor(marker)
        victim.kill(SIGKILL)
        #expect(victim.wait().status == -SIGKILL)

        #expect(scepops(["status", "--format", "json"]).stdout == before)
        let next = scepops(["apply", "--auto-approve"])
        #expect(next.status == 0, "\(next.stdout)\(next.stderr)")
        #expect(next.stderr.contains("took over the lease"))
        #expect(next.stdout.contains("4 deleted"))
        #expect(try status()["revision"] as? Int == 2)
    }

    @Test func anUnreachableCAIsADiagnosticNotAHang() throws {
        let closed = try FreePort.pick()
        let silent = try SilentListener()
        repo.write("certificate_authorities/closed.yml", "name: CLOSED\nurl: http://127.0.0.1:\(closed)/scep\nchallenge: x-${VPN_CHALLENGE}\n")
        repo.write("certificate_authorities/silent.yml", "name: SILENT\nurl: http://127.0.0.1:\(silent.port)/scep\nchallenge: y-${VPN_CHALLENGE}\n")
        let result = scepops(["plan", "--ca-timeout", "1", "--format", "json"])
        #expect(result.status == 1)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let errors = try #require(json["diagnostics"] as? [[String: Any]]).filter { $0["code"] as? String == "ca-unreachable" }
        #expect(errors.map { $0["file"] as? String } == ["certificate_authorities/closed.yml", "certificate_authorities/silent.yml"])
        #expect((errors[0]["message"] as? String)?.contains("connection refused") == true)
        #expect((errors[1]["message"] as? String)?.contains("timed out after 1 s") == true)
        // --offline skips the check, and says so.
        let offline = scepops(["plan", "--offline"])
        #expect(offline.status == 0)
        #expect(offline.stdout.contains("CA check skipped (--offline)"))
    }

    @Test func theDefaultKeyIsCreatedWithMode0600AndAWrongKeyIsRefused() throws {
        var noKey = environment
        noKey["SCEPOPS_SECRET_KEY"] = nil
        let apply = scepops(["apply", "--auto-approve", "--offline"], environment: noKey)
        #expect(apply.status == 0)
        #expect(apply.stderr.contains("created the secret key \(db).key (mode 0600)"))
        let attributes = try FileManager.default.attributesOfItem(atPath: db + ".key")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)

        let wrong = scepops(["plan", "--offline"])  // the environment's key is another one
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("the state was encrypted with a different key"))
    }

    @Test(arguments: TestBackend.all)
    func secretsNeverLeakIntoOutputPlanFilesOrTheDatabase(_ backend: TestBackend) throws {
        try use(backend)
        let secrets = ValidRepo.environment.values
        var outputs: [String] = []
        let out = work.path + "/plan.json"
        for arguments in [
            ["validate"], ["plan"], ["plan", "--format", "markdown"], ["plan", "--format", "json", "--out", out],
            ["apply", "--auto-approve"], ["status"], ["status", "--format", "json"],
        ] {
            let result = arguments == ["validate"]
                ? Command.run(Command.scepops, ["validate", "--repo", repo.path], environment: environment)
                : scepops(arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            outputs += [result.stdout, result.stderr]
        }
        // A changed secret shows as changed, never as its value.
        var rotated = environment
        rotated["WIFI_CHALLENGE"] = "rotated-s3cret-challenge"
        rotated["KIOSK_SECRET"] = "rotated-kiosk-s3cret"
        for format in ["text", "markdown", "json"] {
            let result = scepops(["plan", "--format", format], environment: rotated)
            #expect(result.stdout.contains("(sensitive value changed)") || result.stdout.contains("\"sensitive\" : true"))
            outputs += [result.stdout, result.stderr]
        }
        outputs.append(try String(contentsOfFile: out, encoding: .utf8))
        var files = backend.contents(of: db)
        #expect(!files.isEmpty && files.allSatisfy { $0.count > 1000 }, "the state was read")
        files.append(contentsOf: outputs.map { Data($0.utf8) })
        let password = TestBackend.password(in: db).map { [$0] } ?? []
        for secret in Array(secrets) + ["rotated-s3cret-challenge", "rotated-kiosk-s3cret"] + password {
            for file in files {
                #expect(file.range(of: Data(secret.utf8)) == nil, "a secret appears in output or the database")
            }
        }
    }

    private func waitFor(_ path: String) throws {
        for _ in 0..<300 {
            if FileManager.default.fileExists(atPath: path) { return }
            usleep(50_000)
        }
        throw SCEPServer.Failure(message: "\(path) never appeared")
    }
}
