import Foundation
import SCEPOpsTestSupport
import Testing

/// Renewal on real parts (`EndToEndParts`): both CAs issue one-day certificates
/// (`scepserver -crtvalid 1`) and renew them 23h58m before expiry, so two minutes after
/// issue. 20 devsim hosts enrol; then the VPN CA goes down. Every host gets a new Wi-Fi
/// certificate from the same profile, and every VPN renewal ends `failed` after its bounded
/// retries, which then stop.
@Suite("End to end: certificates renew themselves")
final class RenewalEndToEndTests: EndToEndParts, @unchecked Sendable {
    static let hosts = 20
    static let before: TimeInterval = 23 * 3600 + 58 * 60
    var db: String { work.path + "/state.db" }

    init() throws {
        try super.init(identityChallenge: "identity-challenge-renewal", actor: "renewal", certificateDays: 1)
        let renewal = "renewal:\n  before: 23h58m\n  max_per_hour: 3600\n"
        repo.write("certificate_authorities/wifi.yml", ValidRepo.wifiCA.replacingOccurrences(of: "https://scep.example.com/scep", with: wifiCA.url) + renewal)
        repo.write("certificate_authorities/vpn.yml", ValidRepo.vpnCA.replacingOccurrences(of: "http://127.0.0.1:2016/scep", with: vpnCA.url) + renewal)
        repo.commitAll("renew one-day certificates two minutes after issue")
    }

    func scepops(_ arguments: [String]) async -> Command.Result {
        await Command.run(Command.scepops, arguments + ["--db", db], directory: work.path, environment: environment)
    }

    /// The managed certificates, by "host profile".
    func managed() async throws -> [String: [String: Any]] {
        let listed = await scepops(["certificates", "--format", "json"])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Any], "\(listed.stderr)")
        var byKey: [String: [String: Any]] = [:]
        for certificate in document["certificates"] as? [[String: Any]] ?? [] where certificate["managed"] as? Bool == true {
            byKey["\(certificate["host_udid"]!) \(certificate["profile"]!)"] = certificate
        }
        return byKey
    }

    static func date(_ value: Any?) -> Date? { (value as? String).flatMap { try? Date($0, strategy: .iso8601) } }

    @Test func everyHostRenewsAndAFailingCAEndsFailedAfterItsRetries() async throws {
        let applied = await scepops(["apply", "--repo", repo.path, "--auto-approve"])
        try #require(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
        let serve = try ServeProcess(
            db: db,
            arguments: [
                "--device-ca", identityCA.caCertificatePath, "--verify-interval", "1", "--worker-interval", "0.3",
                "--redelivery-backoff", "1", "--renewal-interval", "1s", "--renewal-attempts", "2", "--renewal-backoff", "5s",
            ], directory: work.path, environment: environment)
        defer { serve.kill() }
        let enrollment = await scepops([
            "enrollment-profile", "--team", "Workstations", "--server-url", "http://127.0.0.1:\(serve.port)", "--identity-scep-url", identityCA.url,
        ])
        try #require(enrollment.status == 0, "\(enrollment.stderr)")
        let profile = work.path + "/workstations.mobileconfig"
        try Data(enrollment.stdout.utf8).write(to: URL(fileURLWithPath: profile))
        let devsim = try Command.start(
            Self.devsim,
            ["--enrollment-profile", profile, "--hosts", String(Self.hosts), "--timeout", "500", "--poll-interval", "0.5",
                "--concurrency", "8", "--state", work.path + "/devices", "--events", events, "--json"],
            directory: work.path)
        defer { devsim.kill() }

        // Enrolment: each host's two certificates are on record.
        var first: [String: [String: Any]] = [:]
        for _ in 0..<120 where first.count < 2 * Self.hosts {
            try await Task.sleep(for: .seconds(1))
            first = try await managed()
        }
        try #require(first.count == 2 * Self.hosts, "enrolled: \(first.count); serve: \(serve.log.suffix(1500))")
        let oldWiFiURLs = readEvents().filter { $0["event"] as? String == "install" && $0["profile"] as? String == "com.example.wifi" }
            .flatMap { $0["scep_urls"] as? [String] ?? [] }
        // From now on every VPN renewal fails: the CA does not answer.
        vpnCA.stop()

        // Within a few minutes: a new Wi-Fi certificate on every host, every VPN renewal failed.
        var renewedAt: [String: Date] = [:]
        var now = first
        let deadline = Date().addingTimeInterval(300)
        while Date() < deadline {
            try await Task.sleep(for: .seconds(1))
            now = try await managed()
            for (key, old) in first where key.hasSuffix("com.example.wifi") && renewedAt[key] == nil {
                if let current = now[key], current["serial"] as? String != old["serial"] as? String { renewedAt[key] = Date() }
            }
            let vpnFailed = now.filter { $0.key.hasSuffix("com.example.vpn") }
                .allSatisfy { ($0.value["renewal"] as? [String: Any])?["state"] as? String == "failed" }
            if renewedAt.count == Self.hosts, vpnFailed { break }
        }
        #expect(renewedAt.count == Self.hosts, "renewed: \(renewedAt.count) of \(Self.hosts); serve: \(serve.log.suffix(2000))")
        for (key, old) in first where key.hasSuffix("com.example.wifi") {
            let current = try #require(now[key])
            #expect(current["serial"] as? String != old["serial"] as? String, "\(key): a new serial")
            #expect(Self.date(current["not_after"])! > Self.date(old["not_after"])!, "\(key): a later expiry")
        }
        // The time from each certificate's threshold to the host holding its successor.
        let waits = first.filter { $0.key.hasSuffix("com.example.wifi") }.compactMap { key, old -> TimeInterval? in
            guard let renewed = renewedAt[key], let notAfter = Self.date(old["not_after"]) else { return nil }
            return renewed.timeIntervalSince(notAfter.addingTimeInterval(-Self.before))
        }.sorted()
        print("renewal: threshold to renewed, per host: p50 \(waits[waits.count / 2]) s, max \(waits.last!) s, min \(waits.first!) s")

        // Each host got the Wi-Fi profile again, under the same PayloadIdentifier, and holds
        // only its new certificate for it; the first proxy URLs are spent.
        let events = readEvents()
        for key in first.keys where key.hasSuffix("com.example.wifi") {
            let host = String(key.split(separator: " ")[0])
            let wifiInstalls = events.filter { $0["event"] as? String == "install" && $0["host"] as? String == host && $0["profile"] as? String == "com.example.wifi" }
            #expect(wifiInstalls.count >= 2, "\(host): installed again")
        }
        let listing = await scepops(["certificates", "--ca", "WIFI", "--format", "json"])
        let wifiCertificates = (try JSONSerialization.jsonObject(with: Data(listing.stdout.utf8)) as? [String: Any])?["certificates"] as? [[String: Any]] ?? []
        #expect(wifiCertificates.count == Self.hosts, "one Wi-Fi certificate a host: \(wifiCertificates.count)")
        for url in oldWiFiURLs.prefix(3) {
            let status = await Command.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", url + "?operation=GetCACaps"]).stdout
            #expect(["403", "404"].contains(status), "an old proxy URL answered \(status)")
        }

        // The VPN renewals: failed after 2 attempts each, and nothing more is tried.
        let vpn = now.filter { $0.key.hasSuffix("com.example.vpn") }
        #expect(vpn.count == Self.hosts)
        #expect(vpn.values.allSatisfy { ($0["renewal"] as? [String: Any])?["state"] as? String == "failed" && ($0["renewal"] as? [String: Any])?["attempts"] as? Int == 2 },
            "\(vpn.values.map { $0["renewal"] ?? "" })")
        func vpnAttempts() -> Int {
            readEvents().count { ["install", "install-failed"].contains($0["event"] as? String) && $0["profile"] as? String == "com.example.vpn" }
        }
        let attempted = vpnAttempts()
        #expect(attempted > Self.hosts, "the VPN profile went out again")
        try await Task.sleep(for: .seconds(8))
        #expect(vpnAttempts() == attempted, "the retries stopped")
        #expect(try await managed().filter { $0.key.hasSuffix("com.example.vpn") }.values.allSatisfy {
            ($0["renewal"] as? [String: Any])?["attempts"] as? Int == 2
        })
        // Drift reports each, naming the host by UDID and serial; the metrics count them.
        let drift = await scepops(["drift", "--repo", repo.path, "--offline", "--format", "json"])
        let findings = (try JSONSerialization.jsonObject(with: Data(drift.stdout.utf8)) as? [String: Any])?["findings"] as? [[String: Any]] ?? []
        let failedRenewals = findings.filter { $0["kind"] as? String == "renewal-failed" }
        #expect(failedRenewals.count == Self.hosts, "\(drift.stdout.prefix(2000))")
        #expect(failedRenewals.allSatisfy { ($0["message"] as? String)?.contains("(host serial ") == true })
        let metrics = await Command.run("/usr/bin/curl", ["-s", "http://127.0.0.1:\(serve.port)/metrics"]).stdout
        #expect(metrics.contains("scepops_renewals_total{result=\"failed\"} \(Self.hosts)"), "\(metrics.split(separator: "\n").filter { $0.contains("renewal") })")
        #expect(metrics.contains("scepops_renewals_total{result=\"renewed\"}"))
        #expect(metrics.contains("scepops_hosts{team=\"Workstations\"} \(Self.hosts)"), "\(metrics.split(separator: "\n").filter { $0.contains("hosts") })")
        #expect(metrics.contains("scepops_certificates{certificate_authority=\"WIFI\",expiry=\"under_7d\"} \(Self.hosts)"))
        #expect(metrics.contains("scepops_deliveries{status=\"failed\"} \(Self.hosts)"), "the VPN deliveries")
        for secret in ValidRepo.environment.values { #expect(!serve.log.contains(secret), "a secret in serve's log") }
    }
}
