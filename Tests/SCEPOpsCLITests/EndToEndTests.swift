import Foundation
import SCEPOpsTestSupport
import Testing

/// The whole story on real parts (`EndToEndParts`): `plan`, `apply` and `serve` as processes, and
/// 20 hosts from `scepops-devsim`, kept between its runs. Then a CA rename, a profile
/// removal and a challenge change, each a commit; the hosts follow.
@Suite("End to end: scepops serve and 20 simulated hosts")
final class EndToEndTests: EndToEndParts, @unchecked Sendable {
    var db: String { work.path + "/state.db" }
    var serveLog: String { (try? String(contentsOfFile: work.path + "/serve.log", encoding: .utf8)) ?? "" }
    static let hosts = 20

    init() throws {
        try super.init(identityChallenge: "identity-challenge-e2e", actor: "e2e")
    }

    func scepops(_ arguments: [String]) -> Command.Result {
        let result = Command.run(Command.scepops, arguments + ["--db", db], directory: work.path, environment: environment)
        // The enrollment profile holds the enroll secret and identity challenge by design.
        for secret in ValidRepo.environment.values + ["rotated-wifi-challenge"] where arguments[0] != "enrollment-profile" {
            #expect(!result.stdout.contains(secret) && !result.stderr.contains(secret), "a secret in the output of \(arguments[0])")
        }
        return result
    }

    func apply() {
        let result = scepops(["apply", "--repo", repo.path, "--auto-approve"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }

    /// One devsim run over the saved hosts until each has settled; its JSON summary.
    func devsim(_ profile: String, hosts: Int? = nil) throws -> [String: Any] {
        var arguments = ["--enrollment-profile", profile, "--settle", "2", "--timeout", "240", "--poll-interval", "0.5",
            "--concurrency", "8", "--state", work.path + "/devices", "--events", events, "--json"]
        if let hosts { arguments += ["--hosts", String(hosts)] }
        let result = Command.run(Self.devsim, arguments, directory: work.path)
        let errors = readEvents().filter { $0["event"] as? String == "error" }.suffix(3).map { "\($0["detail"] ?? "")" }
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)\nerrors: \(errors)\nserve: \(serveLog.suffix(1500))")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stderr)")
    }

    func profileStatus(_ name: String) throws -> [String: Int] {
        let result = scepops(["status", "--format", "json"])
        let status = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let profile = (status["profiles"] as? [[String: Any]] ?? []).first { "\($0["team"]!)/\($0["identifier"]!)" == name }
        return profile?["host_profiles"] as? [String: Int] ?? [:]
    }

    /// openssl verifies each certificate (DER, base64) against the CA's certificate.
    func issued(by ca: SCEPServer, _ certificates: [String]) -> Bool {
        let folder = TempRepo()
        var paths: [String] = []
        for (index, der) in certificates.enumerated() {
            folder.write("\(index).der", Data(base64Encoded: der)!)
            _ = Command.run("/usr/bin/openssl", ["x509", "-inform", "DER", "-in", "\(index).der", "-out", "\(index).pem"], directory: folder.path)
            paths.append("\(index).pem")
        }
        return Command.run("/usr/bin/openssl", ["verify", "-CAfile", ca.caCertificatePath] + paths, directory: folder.path).status == 0
    }

    /// A certificate's serial (DER, base64) as openssl prints it.
    func serial(_ der: String) -> String {
        let folder = TempRepo()
        folder.write("c.der", Data(base64Encoded: der)!)
        let printed = Command.run("/usr/bin/openssl", ["x509", "-inform", "DER", "-in", "c.der", "-noout", "-serial"], directory: folder.path)
        return printed.stdout.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "")
    }

    func installs(_ events: [[String: Any]], _ profile: String) -> [[String: Any]] {
        events.filter { $0["event"] as? String == "install" && $0["profile"] as? String == profile }
    }

    func certificates(_ events: [[String: Any]]) -> [[String: Any]] {
        events.flatMap { $0["certificates"] as? [[String: Any]] ?? [] }
    }

    /// The status page in a real browser: headless Chromium logs in with a read token (as
    /// Basic credentials), and the DOM it renders holds the fleet's figures. The screenshot,
    /// at a phone's width, is kept in .build/test-artifacts/status-page.png.
    func statusPageShowsTheFleet(adminPort: Int) throws {
        guard HeadlessChromium.available else {
            Issue.record("no /usr/bin/chromium: ci/install-deps installs it")
            return
        }
        let token = scepops(["token", "create", "--name", "status-page", "--role", "read"]).stdout.trimmingCharacters(in: .newlines)
        try #require(token.hasPrefix("scepops_"))
        let page = "http://ui:\(token)@127.0.0.1:\(adminPort)/ui"
        let rendered = HeadlessChromium.dom(page)
        let dom = rendered.stdout
        #expect(rendered.status == 0 && dom.contains("<h2>Hosts by team</h2>"), "\(rendered.stderr.suffix(800))")
        func figure(_ attribute: String) -> Int? {
            dom.firstMatch(of: try! Regex("\(attribute)[^>]*>(\\d+)<")).flatMap { Int($0.output[1].substring ?? "") }
        }
        #expect(figure(#"data-team="Workstations""#) == Self.hosts && figure(#"data-team="Kiosks""#) == 0)
        #expect(figure(#"data-figure="hosts""#) == Self.hosts)
        #expect(figure(#"data-deliveries="verified""#) == 2 * Self.hosts && figure(#"data-deliveries="failed""#) == 0)
        #expect(figure(#"data-figure="certificates""#) == 2 * Self.hosts)
        // The chart's bars add up to every managed certificate; a year's validity is "later".
        let bars = dom.matches(of: /data-count="(\d+)"/).compactMap { Int($0.1) }
        #expect(bars.count == 15 && bars.reduce(0, +) == 2 * Self.hosts, "\(bars)")
        #expect(figure(#"data-held="WIFI""#) == Self.hosts && figure(#"data-held="VPN""#) == Self.hosts)
        #expect(dom.matches(of: /data-health="ok"/).count == 2, "both CAs healthy")
        #expect(dom.contains("data-apply="), "the last applies are listed")
        #expect(!dom.contains(token), "the token is not on the page")
        // Without the token the page is refused, and the browser is asked for it.
        let refused = Command.run("/usr/bin/curl", ["-s", "-D", "-", "-o", "/dev/null", "http://127.0.0.1:\(adminPort)/ui"]).stdout
        #expect(refused.hasPrefix("HTTP/1.1 401") && refused.contains("Basic realm=\"scepops\""), "\(refused)")

        let artifacts = Command.packageRoot + "/.build/test-artifacts"
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        let shot = HeadlessChromium.screenshot(page, to: artifacts + "/status-page.png")
        let png = FileManager.default.contents(atPath: artifacts + "/status-page.png") ?? Data()
        #expect(shot.status == 0 && png.count > 10_000 && png.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]), "\(shot.stderr.suffix(500))")
    }

    @Test func enrolmentRenameRemovalAndChallengeChange() throws {
        // Setup: plan, apply, serve, and the team's enrollment profile.
        #expect(scepops(["plan", "--repo", repo.path, "--detailed-exitcode"]).status == 2)
        apply()
        // The most verbose log, in JSON: every event is there, and no secret is.
        let adminPort = try FreePort.pick()
        let serve = try ServeProcess(
            db: db,
            arguments: [
                "--device-ca", identityCA.caCertificatePath, "--verify-interval", "1s", "--worker-interval", "0.3",
                "--log-level", "trace", "--log-format", "json", "--admin-listen", "127.0.0.1:\(adminPort)",
            ],
            directory: work.path, environment: environment)
        let port = serve.port
        defer {
            serve.kill()
            for secret in ValidRepo.environment.values + ["rotated-wifi-challenge", "identity-challenge-e2e"] {
                #expect(!serveLog.contains(secret), "a secret in serve's log")
            }
            // A proxy URL carries a host's one-time token: no line names one.
            #expect(!serveLog.contains("/mdm/scep/proxy/"), "a proxy URL in serve's log")
            let events = serveLog.split(separator: "\n").compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: String]
            }
            func count(_ message: String) -> Int { events.filter { $0["message"] == message }.count }
            #expect(count("host enrolled") >= 20, "an enrollment line per host")
            #expect(events.contains { $0["message"] == "host enrolled" && $0["serial"]?.isEmpty == false && $0["team"] == "Workstations" })
            #expect(count("certificate enrolled through the proxy") >= 40, "a line per certificate through the proxy")
            #expect(events.contains { $0["message"] == "certificate enrolled through the proxy" && ["WIFI", "VPN", "CORP_WIFI"].contains($0["ca"] ?? "") })
            #expect(count("command result") > 0 && count("command sent") > 0 && count("push token updated") >= 20)
            #expect(events.allSatisfy { $0["time"] != nil && $0["level"] != nil && $0["label"] != nil }, "every line is an event")
        }
        let profile = work.path + "/workstations.mobileconfig"
        let enrollment = scepops([
            "enrollment-profile", "--team", "Workstations", "--server-url", "http://127.0.0.1:\(port)",
            "--identity-scep-url", identityCA.url,
        ])
        #expect(enrollment.status == 0, "\(enrollment.stderr)")
        try Data(enrollment.stdout.utf8).write(to: URL(fileURLWithPath: profile))

        // Enrolment: every host holds a certificate from each CA, with the profile's Subject.
        let first = try devsim(profile, hosts: Self.hosts)
        #expect(first["hosts"] as? Int == Self.hosts)
        #expect(first["enrolled"] as? Int == Self.hosts)
        #expect(first["certificates"] as? Int == 2 * Self.hosts)
        #expect(first["failures"] as? [String: Int] == [:])
        #expect((first["p50_ms"] as? Double ?? 0) > 0)
        var log = readEvents()
        let wifiUUID = try #require(installs(log, "com.example.wifi").first?["uuid"] as? String)
        for (profile, ca) in [("com.example.wifi", wifiCA), ("com.example.vpn", vpnCA)] {
            let done = installs(log, profile)
            #expect(Set(done.compactMap { $0["host"] as? String }).count == Self.hosts)
            let got = certificates(done)
            #expect(got.count == Self.hosts)
            #expect(got.allSatisfy { ($0["subject"] as? String)?.hasPrefix("OU=fleet-a") == true })
            #expect(got.allSatisfy { $0["issuer"] as? String == "OU=SCEP CA,O=scep-ca,C=US" })
            #expect(issued(by: ca, got.compactMap { $0["der"] as? String }), "\(profile): not issued by its CA")
        }
        #expect(try profileStatus("Workstations/com.example.wifi")["verified"] == Self.hosts)
        #expect(try profileStatus("Workstations/com.example.vpn")["verified"] == Self.hosts)
        // `scepops hosts` lists each one: its serial, team, a check-in, both profiles verified.
        let listed = scepops(["hosts", "--format", "json"])
        let hosts = try #require((try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Any])?["hosts"] as? [[String: Any]])
        #expect(hosts.count == Self.hosts, "\(listed.stderr)")
        #expect(Set(hosts.compactMap { $0["serial"] as? String }).count == Self.hosts)
        #expect(hosts.allSatisfy { $0["team"] as? String == "Workstations" && $0["last_seen_at"] is String })
        #expect(hosts.allSatisfy { $0["deliveries"] as? [String: Int] == ["pending": 0, "sent": 0, "verified": 2, "failed": 0] })
        #expect(scepops(["hosts", "--team", "Kiosks"]).stdout == "No hosts.\n")
        // `scepops certificates`: each host's two certificates, matched to their profiles by
        // the renewal id, with the serials the CAs issued.
        let held = scepops(["certificates", "--format", "json"])
        let listing = try #require((try JSONSerialization.jsonObject(with: Data(held.stdout.utf8)) as? [String: Any])?["certificates"] as? [[String: Any]])
        let managed = listing.filter { $0["managed"] as? Bool == true }
        #expect(managed.count == 2 * Self.hosts, "\(held.stderr)")
        let issuedSerials = Set(certificates(installs(log, "com.example.wifi") + installs(log, "com.example.vpn")).compactMap { $0["der"] as? String }.map(serial))
        #expect(Set(managed.compactMap { $0["serial"] as? String }) == issuedSerials)
        for (identifier, ca) in [("com.example.wifi", "WIFI"), ("com.example.vpn", "VPN")] {
            #expect(managed.filter { $0["profile"] as? String == identifier && $0["certificate_authority"] as? String == ca }.count == Self.hosts)
        }
        #expect(managed.allSatisfy { ($0["renewal"] as? [String: Any])?["state"] as? String == "none" && $0["team"] as? String == "Workstations" })
        try statusPageShowsTheFleet(adminPort: adminPort)
        // `scepops show host SERIAL|UDID`: one host, its deliveries and its certificates.
        let one = try #require(hosts.first)
        let serial = try #require(one["serial"] as? String)
        let shown = scepops(["show", "host", serial, "--format", "json"])
        let shownHost = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any], "\(shown.stderr)")
        #expect(shownHost["udid"] as? String == one["udid"] as? String && shownHost["kind"] as? String == "host")
        let delivered = shownHost["profiles"] as? [[String: Any]] ?? []
        #expect(delivered.map { "\($0["identifier"]!) \($0["status"]!)" }.sorted() == ["com.example.vpn verified", "com.example.wifi verified"])
        let itsCertificates = shownHost["certificates"] as? [[String: Any]] ?? []
        #expect(itsCertificates.filter { $0["managed"] as? Bool == true }.count == 2)
        let shownText = scepops(["show", "host", one["udid"] as! String]).stdout
        #expect(shownText.hasPrefix("udid: \(one["udid"]!)\nserial: \(serial)\nteam: Workstations\n"), "\(shownText)")
        #expect(shownText.contains("  com.example.wifi  install verified\n") && shownText.contains("renewal none"), "\(shownText)")
        let missing = scepops(["show", "host", "NO-SUCH-HOST"])
        #expect(missing.status == 1 && missing.stderr == "error: no host with the UDID or serial NO-SUCH-HOST in the state\n")
        let wifiListing = scepops(["certificates", "--ca", "WIFI"]).stdout
        #expect(wifiListing.contains("\(Self.hosts) certificates, \(Self.hosts) managed\n") && wifiListing.contains("Expiring by week"), "\(wifiListing)")
        let oldURLs = installs(log, "com.example.wifi").flatMap { $0["scep_urls"] as? [String] ?? [] }
        #expect(oldURLs.count == Self.hosts && oldURLs.allSatisfy { $0.contains("%2CWIFI%2C") })

        // Rename: WIFI becomes CORP_WIFI, and the profile names the new CA, in one commit.
        repo.write("certificate_authorities/wifi.yml", ValidRepo.wifiCA.replacingOccurrences(of: "https://scep.example.com/scep", with: wifiCA.url)
            .replacingOccurrences(of: "name: WIFI", with: "name: CORP_WIFI"))
        repo.write("profiles/wifi.mobileconfig", ValidRepo.profile(
            challenge: "$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_CORP_WIFI", url: "${FLEET_VAR_CUSTOM_SCEP_PROXY_URL_CORP_WIFI}"))
        repo.commitAll("rename the Wi-Fi CA")
        let plan = scepops(["plan", "--repo", repo.path, "--format", "json"])
        let changes = try #require((try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])?["changes"] as? [[String: Any]])
        #expect(changes.map { "\($0["action"]!) \($0["name"]!)" } == [
            "delete Kiosks/com.example.wifi", "delete Workstations/com.example.wifi", "replace CORP_WIFI",
            "create Kiosks/com.example.wifi", "create Workstations/com.example.wifi",
        ])
        apply()
        var mark = log.count
        let renamed = try devsim(profile)
        #expect(renamed["failures"] as? [String: Int] == [:])
        log = readEvents()
        let phase = Array(log.dropFirst(mark))
        for host in Set(installs(log, "com.example.wifi").compactMap { $0["host"] as? String }) {
            let mine = phase.enumerated().filter { $0.element["host"] as? String == host && $0.element["profile"] as? String == "com.example.wifi" }
            #expect(mine.map { $0.element["event"] as? String } == ["remove", "install"], "\(host): the old profile goes before the new one")
            #expect(mine.first?.element["certificates"] as? Int == 1, "\(host): the removal took the old certificate")
            let new = mine.last?.element
            #expect((new?["scep_urls"] as? [String])?.first?.contains("%2CCORP_WIFI%2C") == true)
            #expect(new?["uuid"] as? String != nil)
        }
        let renewed = certificates(installs(phase, "com.example.wifi"))
        #expect(renewed.count == Self.hosts)
        #expect(renewed.allSatisfy { ($0["subject"] as? String) != "OU=fleet-\(wifiUUID)" })
        #expect(issued(by: wifiCA, renewed.compactMap { $0["der"] as? String }))
        // The old proxy URLs are refused, without asking the CA.
        let before = wifiCA.count("GetCACaps")
        for url in oldURLs.prefix(3) {
            let status = Command.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", url + "?operation=GetCACaps"]).stdout
            #expect(["403", "404"].contains(status), "an old proxy URL answered \(status)")
        }
        #expect(wifiCA.count("GetCACaps") == before)
        #expect(try profileStatus("Workstations/com.example.wifi")["verified"] == Self.hosts)

        // Removal: the VPN profile leaves git; RemoveProfile reaches every host.
        repo.write("teams/workstations.yml", "name: Workstations\nenroll_secret: ${WS_SECRET}\nprofiles:\n  - profiles/wifi.mobileconfig\n")
        repo.write("teams/kiosks.yml", "name: Kiosks\nenroll_secret: ${KIOSK_SECRET}\nprofiles:\n  - profiles/wifi.mobileconfig\n")
        repo.remove("profiles/vpn/vpn.mobileconfig")
        repo.commitAll("no more VPN profile")
        apply()
        mark = log.count
        #expect(try devsim(profile)["failures"] as? [String: Int] == [:])
        log = readEvents()
        let removals = log.dropFirst(mark).filter { $0["event"] as? String == "remove" && $0["profile"] as? String == "com.example.vpn" }
        #expect(Set(removals.compactMap { $0["host"] as? String }).count == Self.hosts)
        #expect(removals.allSatisfy { $0["held"] as? Bool == true })
        #expect(try profileStatus("Workstations/com.example.vpn").isEmpty, "the profile is gone from the state")

        // Challenge change: the CA restarts on a new challenge; the profile is re-delivered.
        environment["WIFI_CHALLENGE"] = "rotated-wifi-challenge"
        try wifiCA.restart(challenge: "rotated-wifi-challenge")
        let rotate = scepops(["plan", "--repo", repo.path, "--format", "json"])
        let rotation = try #require((try JSONSerialization.jsonObject(with: Data(rotate.stdout.utf8)) as? [String: Any])?["changes"] as? [[String: Any]])
        #expect(rotation.map { "\($0["action"]!) \($0["name"]!) \($0["hosts_affected"]!)" } == ["update CORP_WIFI \(Self.hosts)"])
        apply()

        // A second, independent client: micromdm's scepclient enrolls through the proxy URL
        // the server rendered for one simulated host, which then acknowledges the command.
        let saved = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work.path + "/devices/hosts.json"))) as? [[String: Any]])
        let host = try #require(saved.first)
        let udid = try #require(host["udid"] as? String)
        let identity = try DeviceIdentity(
            keyPEM: Data(base64Encoded: host["identityKeyPEM"] as! String)!, certificateDER: Data(base64Encoded: host["identityCertificate"] as! String)!)
        // Until the re-delivery comes, the host answers what else it is asked as devsim would.
        var command: [String: Any]?
        var next = try fetchCommand(port: port, udid: udid, identity: identity)
        for _ in 0..<100 where command == nil {
            guard let current = next else {
                usleep(200_000)
                next = try fetchCommand(port: port, udid: udid, identity: identity)
                continue
            }
            var answer: [String: Any] = ["Status": "Acknowledged", "CommandUUID": current["CommandUUID"]!]
            switch (current["Command"] as? [String: Any])?["RequestType"] as? String {
            case "InstallProfile":
                command = current
                continue
            case "ProfileList":
                answer["ProfileList"] = [["PayloadIdentifier": "com.example.wifi", "PayloadUUID": UUID().uuidString]]
            default:
                break
            }
            next = try report(port: port, udid: udid, identity: identity, answer)
        }
        let install = try #require(command, "no re-delivery for \(udid)")
        let payload = try #require((install["Command"] as? [String: Any])?["Payload"] as? Data)
        let rendered = try #require(try PropertyListSerialization.propertyList(from: payload, format: nil) as? [String: Any])
        let scep = try #require(((rendered["PayloadContent"] as? [[String: Any]])?.first?["PayloadContent"]) as? [String: Any])
        #expect(scep["Challenge"] as? String == "rotated-wifi-challenge", "the device gets the new challenge")
        let key = work.path + "/scepclient.key"
        let certificate = work.path + "/scepclient.pem"
        let client = Command.run(
            "/usr/bin/scepclient",
            ["-server-url", scep["URL"] as! String, "-challenge", scep["Challenge"] as! String, "-private-key", key,
                "-certificate", certificate, "-cn", "scepclient-\(udid)"])
        #expect(client.status == 0, "\(client.stdout)\(client.stderr)")
        #expect(Command.run("/usr/bin/openssl", ["verify", "-CAfile", wifiCA.caCertificatePath, certificate]).status == 0)
        _ = try report(port: port, udid: udid, identity: identity, ["Status": "Acknowledged", "CommandUUID": install["CommandUUID"]!])

        mark = log.count
        #expect(try devsim(profile)["failures"] as? [String: Int] == [:])
        log = readEvents()
        let reissued = installs(Array(log.dropFirst(mark)), "com.example.wifi")
        #expect(Set(reissued.compactMap { $0["host"] as? String }) == Set(saved.compactMap { $0["udid"] as? String }).subtracting([udid]))
        let fresh = certificates(reissued)
        #expect(fresh.count == Self.hosts - 1)
        let old = Set(certificates(installs(log, "com.example.wifi")).compactMap { $0["fingerprint"] as? String })
        #expect(fresh.allSatisfy { old.contains($0["fingerprint"] as! String) }, "fingerprints are in the log")
        #expect(Set(fresh.compactMap { $0["fingerprint"] as? String }).isDisjoint(with: renewed.compactMap { $0["fingerprint"] as? String }))
        #expect(issued(by: wifiCA, fresh.compactMap { $0["der"] as? String }))
        #expect(try profileStatus("Workstations/com.example.wifi")["verified"] == Self.hosts)
        let text = (try? String(contentsOfFile: events, encoding: .utf8)) ?? ""
        for secret in ValidRepo.environment.values + ["rotated-wifi-challenge"] { #expect(!text.contains(secret)) }
    }

    /// As the device: a signed Idle, and the command it gets back, if any.
    func fetchCommand(port: Int, udid: String, identity: DeviceIdentity) throws -> [String: Any]? {
        try report(port: port, udid: udid, identity: identity, ["Status": "Idle"])
    }

    func report(port: Int, udid: String, identity: DeviceIdentity, _ fields: [String: Any]) throws -> [String: Any]? {
        var message = fields
        message["UDID"] = udid
        let body = try PropertyListSerialization.data(fromPropertyList: message, format: .xml, options: 0)
        let file = work.path + "/message-\(UUID().uuidString).plist"
        try body.write(to: URL(fileURLWithPath: file))
        let result = Command.run(
            "/usr/bin/curl",
            ["-sf", "-X", "PUT", "--data-binary", "@\(file)", "-H", "Mdm-Signature: \(try identity.signature(for: [UInt8](body)))",
                "http://127.0.0.1:\(port)/mdm/apple/command"])
        #expect(result.status == 0, "\(result.stderr)")
        guard !result.stdout.isEmpty else { return nil }
        return try PropertyListSerialization.propertyList(from: Data(result.stdout.utf8), format: nil) as? [String: Any]
    }

    /// A run where every host fails exits 1 and counts the failures by reason.
    @Test func devsimCountsFailuresByReasonAndExitsNonZero() throws {
        let closed = try FreePort.pick()
        let profile = work.path + "/broken.mobileconfig"
        apply()
        let enrollment = Command.run(
            Command.scepops,
            ["enrollment-profile", "--team", "Workstations", "--server-url", "http://127.0.0.1:\(closed)",
                "--identity-scep-url", "http://127.0.0.1:\(closed)/scep", "--db", db], directory: work.path, environment: environment)
        #expect(enrollment.status == 0, "\(enrollment.stderr)")
        try Data(enrollment.stdout.utf8).write(to: URL(fileURLWithPath: profile))
        let result = Command.run(
            Self.devsim, ["--enrollment-profile", profile, "--hosts", "3", "--timeout", "4", "--json"], directory: work.path)
        #expect(result.status == 1)
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(Set(summary.keys).isSuperset(of: ["hosts", "enrolled", "certificates", "failures", "p50_ms", "p99_ms"]))
        #expect(summary["hosts"] as? Int == 3)
        #expect(summary["enrolled"] as? Int == 0)
        #expect(summary["failures"] as? [String: Int] == ["identity-upstream-failed": 3])
    }
}
