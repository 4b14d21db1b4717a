import Foundation
import SCEPOpsTestSupport
import Testing

/// `scepops token create|list|revoke` against a state on each backend.
@Suite("scepops token")
struct TokenCommandTests {
    let work = TempRepo()
    let environment = ValidRepo.environment.merging(["SCEPOPS_SECRET_KEY": ReconcileCommandTests.key, "SCEPOPS_ACTOR": "tests"]) { $1 }

    func scepops(_ arguments: [String], db: String) -> Command.Result {
        Command.run(Command.scepops, arguments + ["--db", db], directory: work.path, environment: environment)
    }

    @Test(arguments: TestBackend.all)
    func aTokenIsPrintedOnceListedWithoutItselfAndRevoked(_ backend: TestBackend) throws {
        let db = try backend.database(in: work.path)
        #expect(scepops(["token", "list"], db: db).status == 1, "no state yet: nothing is created")
        #expect(backend != .sqlite || !FileManager.default.fileExists(atPath: db))
        let repo = ValidRepo.make()
        let applied = scepops(["apply", "--repo", repo.path, "--auto-approve", "--offline"], db: db)
        try #require(applied.status == 0, "\(applied.stderr)")

        let created = scepops(["token", "create", "--name", "ci-plan", "--role", "plan", "--expires", "90d"], db: db)
        #expect(created.status == 0, "\(created.stderr)")
        let token = created.stdout.trimmingCharacters(in: .newlines)
        #expect(token.hasPrefix("scepops_") && token.count == 40 && created.stdout == token + "\n", "the token alone: \(created.stdout)")
        #expect(created.stderr.isEmpty)
        let again = scepops(["token", "create", "--name", "ci-plan", "--role", "apply"], db: db)
        #expect(again.status == 1 && again.stdout.isEmpty && again.stderr.contains("a token named ci-plan exists"))
        #expect(scepops(["token", "create", "--name", "reader", "--role", "read"], db: db).status == 0)
        #expect(scepops(["token", "create", "--name", "bad name", "--role", "read"], db: db).status != 0)
        #expect(scepops(["token", "create", "--name", "x", "--role", "admin"], db: db).status != 0)

        let list = scepops(["token", "list"], db: db)
        #expect(list.status == 0)
        let lines = list.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("NAME") == true && lines.count == 3)
        #expect(lines[1].hasPrefix("ci-plan") && lines[1].contains(" plan ") && lines[1].hasSuffix("active"))
        #expect(lines[2].hasPrefix("reader") && lines[2].contains(" read ") && lines[2].contains(" - "), "no expiry")
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(scepops(["token", "list", "--format", "json"], db: db).stdout.utf8)) as? [String: Any])
        let tokens = try #require(json["tokens"] as? [[String: Any]])
        #expect(tokens.map { $0["name"] as? String } == ["ci-plan", "reader"])
        #expect(Set(tokens[0].keys) == ["name", "role", "created_at", "expires_at", "revoked_at", "last_used_at", "state"])
        let stamp = try #require(tokens[0]["expires_at"] as? String)
        let expires = try #require(ISO8601DateFormatter().date(from: stamp))
        #expect(abs(expires.timeIntervalSinceNow - 90 * 86_400) < 120)

        let revoked = scepops(["token", "revoke", "ci-plan"], db: db)
        #expect(revoked.status == 0 && revoked.stdout == "Token ci-plan revoked.\n")
        #expect(scepops(["token", "revoke", "ci-plan"], db: db).status == 1, "already revoked")
        #expect(scepops(["token", "list"], db: db).stdout.split(separator: "\n")[1].hasSuffix("revoked"))

        // The token was printed once: nowhere else, and not in the state.
        for output in [list, again, revoked] { #expect(!output.stdout.contains(token) && !output.stderr.contains(token)) }
        for bytes in backend.contents(of: db) { #expect(!String(decoding: bytes, as: UTF8.self).contains(token)) }
    }

    /// `serve --admin-listen`: the token reaches the admin API, `/metrics` leaves the device
    /// listener, and `status`, `history` and `show` with `--server` print what local mode prints.
    @Test func serveTakesTheTokenOnItsAdminListener() throws {
        let db = work.path + "/state.db"
        let repo = ValidRepo.make()
        try #require(scepops(["apply", "--repo", repo.path, "--auto-approve", "--offline"], db: db).status == 0)
        let token = scepops(["token", "create", "--name", "ops", "--role", "read"], db: db).stdout.trimmingCharacters(in: .newlines)
        let admin = try FreePort.pick()
        let serve = try ServeProcess(
            db: db, arguments: ["--admin-listen", "127.0.0.1:\(admin)"], directory: work.path, environment: environment)
        defer { serve.kill() }
        func get(_ url: String, token: String? = nil) -> String {
            Command.run(
                "/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", url]
                    + (token.map { ["-H", "Authorization: Bearer \($0)"] } ?? [])).stdout
        }
        var answered = ""
        for _ in 0..<50 where answered != "401" {
            answered = get("http://127.0.0.1:\(admin)/v1/status")
            if answered != "401" { usleep(100_000) }
        }
        #expect(answered == "401")
        #expect(get("http://127.0.0.1:\(admin)/v1/status", token: token) == "200")
        #expect(get("http://127.0.0.1:\(admin)/metrics", token: token) == "200")
        #expect(get(serve.url + "/metrics") == "404", "not where devices are")
        #expect(get(serve.url + "/healthz") == "200")
        // Remote mode: the same output as local mode, with no database and no key.
        let remote = ["SCEPOPS_SERVER": "http://127.0.0.1:\(admin)", "SCEPOPS_TOKEN": token]
        let elsewhere = TempRepo()
        for command in [["status"], ["history"], ["show", "ca", "WIFI"], ["show", "profile", "Workstations/com.example.wifi"]] {
            for format in ["text", "json"] {
                let local = scepops(command + ["--format", format], db: db)
                let far = Command.run(Command.scepops, command + ["--format", format], directory: elsewhere.path, environment: remote)
                #expect(local.status == 0 && !local.stdout.isEmpty)
                #expect(far.status == 0 && far.stdout == local.stdout, "\(command) \(format): \(far.stderr)")
            }
        }
        // What is not there fails alike.
        for command in [["show", "team", "Nope"], ["show", "profile", "com.example.wifi"]] {
            let local = scepops(command, db: db)
            let far = Command.run(Command.scepops, command, directory: elsewhere.path, environment: remote)
            #expect(local.status == 1 && far.status == 1 && far.stderr == local.stderr, "\(command): \(far.stderr) vs \(local.stderr)")
        }
        var wrong = remote
        wrong["SCEPOPS_TOKEN"] = "scepops_wrong"
        let refused = Command.run(Command.scepops, ["status"], directory: work.path, environment: wrong)
        #expect(refused.status == 1 && refused.stdout.isEmpty)
        #expect(refused.stderr.hasPrefix("error[unauthorized]: a valid bearer token is required"), "\(refused.stderr)")
        #expect(!serve.log.contains(token))
        #expect(scepops(["token", "list", "--format", "json"], db: db).stdout.contains("\"last_used_at\" : \"20"))
    }
}
