import Foundation
import SCEPOpsServer
import SCEPOpsTestSupport
import Testing

/// `scepops drift` (the binary) against a state that a running server keeps, with a
/// plist-level device answering ProfileList and CertificateList, and a real scepserver
/// as both CAs.
@Suite("Drift against hosts and CAs")
struct DriftScenarioTests {
    /// A self-signed certificate (DER) valid for `days`, made by openssl.
    static func certificate(commonName: String, days: Int, in folder: TempRepo) async throws -> Data {
        let path = folder.path + "/\(commonName).der"
        let result = await Command.run(
            "/usr/bin/openssl",
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", folder.path + "/\(commonName).key", "-out", path,
                "-outform", "DER", "-days", String(days), "-subj", "/CN=\(commonName)"])
        #expect(result.status == 0, "\(result.stderr)")
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    /// Answers every command the server has for the device: installs are acknowledged,
    /// ProfileList and CertificateList get what the device "holds".
    static func answer(_ device: PlistDevice, profiles: [String], certificates: [Data]) async throws -> [String] {
        var answered: [String] = []
        var next = try await device.report("Idle")
        while let uuid = next.uuid {
            let type = next.type ?? "?"
            answered.append(type)
            var dict: [String: Any] = ["Status": "Acknowledged", "UDID": device.udid, "CommandUUID": uuid]
            if type == "ProfileList" {
                dict["ProfileList"] = profiles.map { ["PayloadIdentifier": $0, "PayloadUUID": UUID().uuidString] }
            } else if type == "CertificateList" {
                dict["CertificateList"] = certificates.enumerated().map {
                    ["CommonName": "cert-\($0.offset)", "Data": $0.element, "IsIdentity": true] as [String: Any]
                }
            }
            let reply = try await device.send("/mdm/apple/command", dict)
            #expect(reply.status == 200)
            next = reply.body.isEmpty ? (200, nil, nil, []) : try await device.report("Idle")
        }
        return answered
    }

    struct Run {
        var status: Int32
        var findings: [(kind: String, subject: String)]
        var document: [String: Any]
        var output: String
    }

    @Test func findingsAppearWithTheirExitCodesAndClearOnceRepaired() async throws {
        try await ProxyHarness.with(mdm: true) { harness in
            let work = TempRepo()
            // Git and the state agree: both CAs at the harness's scepserver.
            var files = ValidRepo.files
            files["certificate_authorities/wifi.yml"] = ValidRepo.wifiCA.replacingOccurrences(
                of: "https://scep.example.com/scep", with: harness.scep.url)
            files["certificate_authorities/vpn.yml"] = ValidRepo.vpnCA.replacingOccurrences(
                of: "http://127.0.0.1:2016/scep", with: harness.scep.url)
            try await harness.apply(files: files)
            let repo = TempRepo()
            repo.write(files)
            await repo.commitAll()

            var environment = ValidRepo.environment
            environment["SCEPOPS_SECRET_KEY"] = Data(Array(repeating: 3, count: 32)).base64EncodedString()
            func drift(_ extra: [String] = []) async throws -> Run {
                let result = await Command.run(
                    Command.scepops,
                    ["drift", "--repo", repo.path, "--db", harness.folder.path + "/state.db", "--format", "json", "--ca-timeout", "5"]
                        + extra, directory: work.path, environment: environment)
                let document = try #require(
                    try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stderr)")
                let findings = (document["findings"] as? [[String: Any]] ?? [])
                    .filter { $0["ignored"] is NSNull && ($0["new"] as? Bool ?? true) }
                    .map { ($0["kind"] as! String, $0["subject"] as! String) }
                #expect(document["exit_code"] as? Int == Int(result.status), "the document states the exit code")
                for secret in ValidRepo.environment.values { #expect(!result.stdout.contains(secret) && !result.stderr.contains(secret)) }
                return Run(status: result.status, findings: findings, document: document, output: result.stdout)
            }

            let device = PlistDevice(
                udid: "UDID-D", identity: try await DeviceIdentity.issued(from: harness.identityCA!, commonName: "UDID-D"), harness: harness)
            #expect(try await device.authenticate(enrollSecret: ValidRepo.environment["WS_SECRET"]!).status == 200)
            #expect(try await device.tokenUpdate().status == 200)
            let worker = ProfileWorker(store: harness.store, settings: .init())
            var clock = Date()
            _ = try await worker.cycle(now: clock)
            let healthy = try await Self.certificate(commonName: "healthy", days: 365, in: work)
            let held = ["com.example.wifi", "com.example.vpn"]
            #expect(
                try await Self.answer(device, profiles: held, certificates: [healthy])
                    == ["InstallProfile", "InstallProfile", "ProfileList", "CertificateList"])

            // 0: git, the state, the host and the CA agree.
            let clean = try await drift()
            #expect(clean.status == 0, "\(clean.output)")
            #expect(clean.findings.isEmpty)

            // 2: a commit not yet applied.
            repo.write("certificate_authorities/vpn.yml", files["certificate_authorities/vpn.yml"]! + "# moved\n")
            repo.write("teams/kiosks.yml", ValidRepo.kiosks.replacingOccurrences(of: "**/*.mobileconfig", with: "wifi.mobileconfig"))
            await repo.commitAll("kiosks get Wi-Fi only")
            let unapplied = try await drift()
            #expect(unapplied.status == 2)
            #expect(unapplied.findings.map(\.kind) == ["unapplied-change"])
            #expect(unapplied.findings.map(\.subject) == ["delete profile Kiosks/com.example.vpn"])
            repo.write("teams/kiosks.yml", ValidRepo.kiosks)
            await repo.commitAll("revert")
            let saved = work.path + "/previous.json"
            let baseline = try await drift()
            #expect(baseline.status == 0)
            try Data(baseline.output.utf8).write(to: URL(fileURLWithPath: saved))

            // 3: an hour later the host lists the Wi-Fi profile no more but one that is not
            // ours, holds a certificate that expires in 5 days, and the CA is down.
            let expiring = try await Self.certificate(commonName: "expiring", days: 5, in: work)
            clock += 3601
            _ = try await worker.cycle(now: clock)
            #expect(
                try await Self.answer(device, profiles: ["com.example.vpn", "com.unmanaged.thing"], certificates: [healthy, expiring])
                    == ["ProfileList", "CertificateList"])
            harness.scep.stop()
            let drifted = try await drift()
            #expect(drifted.status == 3, "\(drifted.output)")
            let expiringFingerprint = try #require(
                (drifted.document["findings"] as? [[String: Any]])?.first { $0["kind"] as? String == "certificate-expiring" }?["subject"]
                    as? String)
            #expect(
                drifted.findings.map { "\($0.kind) \($0.subject)" } == [
                    "certificate-expiring \(expiringFingerprint)",
                    "profile-missing host UDID-D profile Workstations/com.example.wifi",
                    "profile-unexpected host UDID-D profile com.unmanaged.thing",
                    "ca-unreachable certificate_authority VPN",
                    "ca-unreachable certificate_authority WIFI",
                ])
            #expect(expiringFingerprint.hasPrefix("host UDID-D certificate "))
            let messages = (drifted.document["findings"] as? [[String: Any]] ?? []).map { $0["message"] as? String ?? "" }
            #expect(messages.contains { $0.hasPrefix("CN=expiring expires on ") && $0.hasSuffix("in 4 day(s) (host serial C02UDID-D)") }, "\(messages)")

            // Hosts not seen: with a threshold of 0 days every host in a team counts.
            let unseen = try await drift(["--unseen-days", "0", "--offline"]).findings.filter { $0.kind == "host-unseen" }
            #expect(unseen.map(\.subject) == ["host HOST-1", "host UDID-D"])

            // --since: only what the saved run did not report.
            #expect(try await drift(["--since", saved]).findings.count == 5)
            try Data(drifted.output.utf8).write(to: URL(fileURLWithPath: saved))
            let repeated = try await drift(["--since", saved])
            #expect(repeated.status == 0, "nothing new since the saved run")
            #expect(repeated.findings.isEmpty)
            #expect((repeated.document["summary"] as? [String: Any])?["already_reported"] as? Int == 5)

            // The ignore file: a live rule hides, an expired one no longer does.
            let ignore = work.path + "/drift-ignore.yml"
            try Data(
                """
                ignore:
                  - kind: ca-unreachable
                    subject: "certificate_authority *"
                    reason: CA maintenance window
                    until: 2999-12-31
                  - kind: certificate-expiring
                    subject: "host UDID-D *"
                    reason: renewal is scheduled
                    until: 2020-01-01

                """.utf8
            ).write(to: URL(fileURLWithPath: ignore))
            let ignoring = try await drift(["--ignore", ignore])
            #expect(ignoring.status == 3)
            #expect(ignoring.findings.map(\.kind) == ["certificate-expiring", "profile-missing", "profile-unexpected"])
            let ignoredEntries = (ignoring.document["findings"] as? [[String: Any]] ?? []).compactMap { $0["ignored"] as? [String: Any] }
            #expect(ignoredEntries.count == 2)
            #expect(ignoredEntries.allSatisfy { $0["reason"] as? String == "CA maintenance window" })
            #expect((ignoring.document["notes"] as? [String] ?? []).contains { $0.contains("expired on 2020-01-01") })
            let text = await Command.run(
                Command.scepops,
                ["drift", "--repo", repo.path, "--db", harness.folder.path + "/state.db", "--ignore", ignore, "--ca-timeout", "5"],
                directory: work.path, environment: environment)
            #expect(text.stdout.contains("-- ignored (expires in "))
            #expect(text.stdout.contains("): CA maintenance window"))

            // 4: drift and an unapplied commit together.
            repo.write("teams/kiosks.yml", ValidRepo.kiosks.replacingOccurrences(of: "**/*.mobileconfig", with: "wifi.mobileconfig"))
            await repo.commitAll("kiosks get Wi-Fi only")
            #expect(try await drift().status == 4)
            repo.write("teams/kiosks.yml", ValidRepo.kiosks)
            await repo.commitAll("revert")

            // 1: an ignore file that does not parse; nothing is compared.
            try Data("ignore:\n  - kind: host-unsen\n    reason: typo\n    until: 2999-01-01\n".utf8).write(to: URL(fileURLWithPath: ignore))
            let broken = try await drift(["--ignore", ignore])
            #expect(broken.status == 1)
            let diagnostic = try #require((broken.document["diagnostics"] as? [[String: Any]])?.first)
            #expect(diagnostic["code"] as? String == "ignore-rule-invalid")
            #expect(diagnostic["file"] as? String == ignore)
            #expect(diagnostic["line"] as? Int == 2)
            #expect((diagnostic["message"] as? String)?.contains("did you mean \"host-unseen\"") == true)

            // Repaired: the CA is back, the profile went out again and is listed, the
            // certificate was renewed. Every finding clears.
            try await harness.scep.restart()
            clock += 3601
            _ = try await worker.cycle(now: clock)
            #expect(
                try await Self.answer(device, profiles: held, certificates: [healthy])
                    == ["InstallProfile", "ProfileList", "CertificateList"])
            let repaired = try await drift()
            #expect(repaired.status == 0, "\(repaired.output)")
            #expect(repaired.findings.isEmpty)
        }
    }
}
