import Foundation
import SCEPOpsTestSupport
import Testing

/// Three `serve` replicas on one PostgreSQL behind nginx as a round-robin load balancer
/// (the worked example's configuration), the real scepservers, and 200 simulated hosts.
/// One replica is killed with SIGKILL in the middle; the others carry on.
@Suite("End to end: three serve replicas on one PostgreSQL behind nginx", .enabled(if: PostgresTestServer.url != nil, "needs ci/test's PostgreSQL"))
final class ReplicasEndToEndTests: EndToEndParts, @unchecked Sendable {
    static let hosts = 200

    init() throws {
        try super.init(identityChallenge: "identity-challenge-replicas", actor: "replicas")
    }

    /// Off the cooperative threads, as every wait of this test: it runs for a minute and
    /// more, and blocking one of the two threads starves the tests that run beside it.
    func scepops(_ arguments: [String], db: String) async -> Command.Result {
        await Command.run(Command.scepops, arguments + ["--db", db], directory: work.path, environment: environment)
    }

    func devsimArguments(_ profile: String) -> [String] {
        ["--enrollment-profile", profile, "--hosts", String(Self.hosts), "--settle", "3", "--timeout", "600", "--poll-interval", "1",
            "--concurrency", "8", "--state", work.path + "/devices", "--events", events, "--json"]
    }

    @Test func everyHostEndsVerifiedWhenOneOfThreeReplicasIsKilled() async throws {
        // The password goes in PGPASSWORD, as in production: a URL in argv is in every `ps`.
        let url = try await PostgresTestServer.makeDatabase()
        let password = try #require(TestBackend.password(in: url))
        let db = url.replacingOccurrences(of: ":\(password)@", with: "@")
        environment["PGPASSWORD"] = password
        let applied = await scepops(["apply", "--repo", repo.path, "--auto-approve"], db: db)
        try #require(applied.status == 0, "\(applied.stdout)\(applied.stderr)")

        // nginx listens on the balancer's port; every replica puts that URL in profiles.
        let balancer = try FreePort.pick()
        let serverURL = "http://127.0.0.1:\(balancer)"
        let replicas = try (1...3).map { index in
            try ServeProcess(
                db: db,
                arguments: ["--device-ca", identityCA.caCertificatePath, "--server-url", serverURL, "--verify-interval", "2",
                    "--worker-interval", "0.3", "--redelivery-backoff", "1"],
                directory: work.path, environment: environment, log: "serve-\(index).log")
        }
        var configuration = try String(contentsOfFile: Command.packageRoot + "/examples/replicas/nginx.conf", encoding: .utf8)
        configuration = configuration.replacingOccurrences(of: "127.0.0.1:8080", with: "127.0.0.1:\(balancer)")
        for (index, replica) in replicas.enumerated() {
            configuration = configuration.replacingOccurrences(of: "127.0.0.1:808\(index + 1)", with: "127.0.0.1:\(replica.port)")
        }
        let nginx = try Nginx(configuration: configuration, readyURL: serverURL + "/healthz")
        defer {
            replicas.forEach { $0.kill() }
            let secrets = ValidRepo.environment.values + ["identity-challenge-replicas", password]
            for replica in replicas {
                for secret in secrets { #expect(!replica.log.contains(secret), "a secret in \(replica.logPath)") }
            }
        }

        let profile = work.path + "/workstations.mobileconfig"
        let enrollment = await scepops(
            ["enrollment-profile", "--team", "Workstations", "--server-url", serverURL, "--identity-scep-url", identityCA.url], db: db)
        try #require(enrollment.status == 0, "\(enrollment.stderr)")
        try Data(enrollment.stdout.utf8).write(to: URL(fileURLWithPath: profile))

        // The hosts enrol through the balancer; once a fifth of the installs are done, the
        // second replica dies with whatever it had in hand.
        let run = try Command.start(
            "/bin/bash", ["-c", "exec \"$0\" \"$@\" > devsim-1.json 2> devsim-1.err", Self.devsim] + devsimArguments(profile),
            directory: work.path)
        var installed = 0
        for _ in 0..<1200 where installed < 2 * Self.hosts / 5 {
            try await Task.sleep(for: .milliseconds(100))
            installed = readEvents().count { $0["event"] as? String == "install" }
        }
        #expect(installed >= 2 * Self.hosts / 5, "the hosts did not get going: \(nginx.log.suffix(800))")
        replicas[1].kill()
        _ = await run.wait()
        // What the kill cut off settles in a second run over the same hosts, on two replicas.
        let second = await Command.run(Self.devsim, devsimArguments(profile), directory: work.path)
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [String: Any])
        #expect(summary["failures"] as? [String: Int] == [:])

        // Every host ends verified, holding a certificate from each CA.
        let log = readEvents()
        let saved = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work.path + "/devices/hosts.json"))) as? [[String: Any]])
        let hosts = Set(saved.compactMap { $0["udid"] as? String })
        #expect(hosts.count == Self.hosts)
        let status = await scepops(["status", "--format", "json"], db: db)
        let state = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        for (identifier, ca) in [("com.example.wifi", wifiCA), ("com.example.vpn", vpnCA)] {
            let counts = (state["profiles"] as? [[String: Any]] ?? []).first {
                $0["team"] as? String == "Workstations" && $0["identifier"] as? String == identifier
            }?["host_profiles"] as? [String: Int]
            #expect(counts?["verified"] == Self.hosts, "\(identifier): \(counts ?? [:])")
            let installs = log.filter { $0["event"] as? String == "install" && $0["profile"] as? String == identifier }
            let without = hosts.subtracting(installs.compactMap { $0["host"] as? String })
            #expect(without.isEmpty, "\(identifier): \(without.count) hosts without it, such as \(without.first ?? "")")
            // No token is accepted twice: each PKIOperation the CA answered is a certificate a
            // host took, or an exchange the kill cut off on its way back (the device saw a 502,
            // and its re-delivery came with a fresh token). A second use of one token would
            // show as more.
            let certificates = installs.reduce(0) { $0 + ($1["certificates"] as? [Any] ?? []).count }
            let cutOff = log.count { $0["event"] as? String == "install-failed" && $0["profile"] as? String == identifier }
            let answered = ca.count("PKIOperation")
            #expect(answered >= certificates && answered <= certificates + cutOff,
                "\(identifier): the CA answered \(answered) PKIOperations for \(certificates) certificates and \(cutOff) cut off")
        }
        // No command reached a host twice, but one whose answer was lost on its way (the
        // replica died with it): a device's unanswered command is offered again, as MDM has it.
        var deliveries: [String: Int] = [:]
        for event in log where event["event"] as? String == "command" {
            deliveries["\(event["host"] ?? "") \(event["command_uuid"] ?? "")", default: 0] += 1
        }
        for event in log where event["event"] as? String == "report-lost" {
            deliveries["\(event["host"] ?? "") \(event["command_uuid"] ?? "")"] = nil
        }
        #expect(!deliveries.isEmpty)
        #expect(deliveries.filter { $0.value > 1 }.isEmpty, "delivered twice: \(deliveries.filter { $0.value > 1 }.keys.prefix(5))")
        #expect(replicas[0].isRunning && replicas[2].isRunning)
    }
}
