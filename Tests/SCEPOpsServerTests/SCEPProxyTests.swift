import AsyncHTTPClient
import Foundation
import NIOCore
import SCEPOpsCore
import SCEPOpsTestSupport
import Testing

/// The SCEP proxy with real parts on both sides: micromdm's scepclient as the device and
/// scepserver as the CA.
@Suite("SCEP proxy")
struct SCEPProxyTests {
    /// micromdm's scepclient enrolls through the proxy URL of `identifier`, its key and
    /// certificate written in `work`.
    static func scepclient(_ harness: ProxyHarness, _ identifier: ProxyIdentifier, into work: TempRepo) async -> Command.Result {
        await Command.run(
            "/usr/bin/scepclient",
            ["-server-url", harness.url(identifier.pathComponent), "-challenge", harness.scep.challenge,
                "-private-key", work.path + "/key.pem", "-certificate", work.path + "/cert.pem", "-cn", "HOST-1 Wi-Fi"])
    }

    @Test func scepclientEnrollsThroughAPendingProfileAndTheTokenWorksOnce() async throws {
        try await ProxyHarness.with { harness in
            let identifier = try await harness.wifi()
            #expect(identifier.certificateAuthority == "WIFI")
            let work = TempRepo()
            let enroll = await Self.scepclient(harness, identifier, into: work)
            #expect(enroll.status == 0, "\(enroll.stdout)\(enroll.stderr)")
            let issuer = await Command.run("/usr/bin/openssl", ["x509", "-in", work.path + "/cert.pem", "-noout", "-issuer", "-subject"])
            #expect(issuer.stdout.contains("OU = SCEP CA"))
            #expect(issuer.stdout.contains("CN = HOST-1 Wi-Fi"))
            #expect(harness.scep.count("PKIOperation") == 1)

            // The same token again, with the delivery still in flight: refused before
            // anything reaches the CA, and nothing about the delivery changes.
            let reused = try await harness.request(
                harness.url(identifier.pathComponent) + "?operation=PKIOperation", method: .POST, body: [0x30, 0x03, 1, 2, 3])
            #expect(reused.status == 403)
            #expect(reused.text.contains("custom scep challenge failed"))
            #expect(harness.scep.count("PKIOperation") == 1)
            let profile = try await harness.store.status().profiles.first { $0.uuid == identifier.profile }
            #expect(profile?.hostProfiles[.sent] == 1)
        }
    }

    @Test func refusalsGetA4xxAndReachNoCA() async throws {
        try await ProxyHarness.with { harness in
            let good = try await harness.wifi()
            // A host that left the team: its Wi-Fi delivery is now a pending removal.
            try await harness.store.enroll(host: "HOST-2", serial: nil, team: "Workstations")
            let leaver = try await harness.wifi(host: "HOST-2")
            try await harness.store.enroll(host: "HOST-2", serial: nil, team: "Kiosks")
            func id(_ host: String, _ profile: String, _ ca: String) -> String {
                ProxyIdentifier(host: host, profile: profile, certificateAuthority: ca, token: good.token).pathComponent
            }
            let cases: [(String, Int, String)] = [
                ("HOST-1%2Conly-three%2CWIFI", 400, "invalid identifier"),
                (id("NO-SUCH-HOST", good.profile, "WIFI"), 404, "unknown identifier"),
                (id("HOST-1", "aNO-SUCH-PROFILE", "WIFI"), 404, "unknown identifier"),
                (id("HOST-1", good.profile, "VPN"), 404, "unknown identifier"),
                (leaver.pathComponent, 403, "not being delivered"),
            ]
            // The CA's certificate is kept for the requests below: it answers none of them.
            #expect(try await harness.request(harness.url(good.pathComponent) + "?operation=GetCACert").status == 200)
            let before = harness.scep.count("GetCACaps") + harness.scep.count("GetCACert")
            for (path, status, text) in cases {
                let answer = try await harness.request(harness.url(path) + "?operation=GetCACert")
                #expect(answer.status == status, "\(path)")
                #expect(answer.text.contains(text), "\(path): \(answer.text)")
                #expect(!answer.text.contains(String(harness.scep.port)))
            }
            let noOperation = try await harness.request(harness.url(good.pathComponent))
            #expect(noOperation.status == 400)
            let oversize = try await harness.request(
                harness.url(good.pathComponent) + "?operation=PKIOperation", method: .POST,
                body: [UInt8](repeating: 0x41, count: 2 * 1024 * 1024 + 1))
            #expect(oversize.status == 413)
            #expect(harness.scep.count("GetCACaps") + harness.scep.count("GetCACert") == before)
            #expect(harness.scep.count("PKIOperation") == 0)
        }
    }

    @Test func answersPassThroughUnchangedAndClientQueryParametersAreTolerated() async throws {
        try await ProxyHarness.with { harness in
            let identifier = try await harness.wifi()
            // A literal comma, and certmonger's message=0 on GetCACaps.
            let literal = [identifier.host, identifier.profile, identifier.certificateAuthority, identifier.token]
                .joined(separator: ",")
            let caps = try await harness.request(harness.url(literal) + "?operation=GetCACaps&message=0")
            #expect(caps.status == 200)
            #expect(caps.text.contains("POSTPKIOperation"))
            let direct = try await harness.request(harness.scep.url + "?operation=GetCACert")
            let proxied = try await harness.request(harness.url(identifier.pathComponent) + "?operation=GetCACert&message=")
            #expect(proxied.status == 200)
            #expect(proxied.body == direct.body)
            #expect(proxied.contentType == "application/x-x509-ca-cert")
        }
    }

    @Test func theCAIsAskedOnceForWhatEveryEnrollmentRepeats() async throws {
        try await ProxyHarness.with { harness in
            let identifier = try await harness.wifi()
            let direct = try await harness.request(harness.scep.url + "?operation=GetCACert")
            let asked = (caps: harness.scep.count("GetCACaps"), cert: harness.scep.count("GetCACert"))
            for _ in 0..<3 {
                let cert = try await harness.request(harness.url(identifier.pathComponent) + "?operation=GetCACert")
                #expect(cert.body == direct.body)
                #expect(cert.contentType == "application/x-x509-ca-cert")
                #expect(try await harness.request(harness.url(identifier.pathComponent) + "?operation=GetCACaps").status == 200)
            }
            // scepclient asks both again, then the PKIOperation, which needs the capabilities.
            let work = TempRepo()
            let enroll = await Self.scepclient(harness, identifier, into: work)
            #expect(enroll.status == 0, "\(enroll.stdout)\(enroll.stderr)")
            #expect(harness.scep.count("PKIOperation") == 1)
            #expect(harness.scep.count("GetCACaps") == asked.caps + 1)
            #expect(harness.scep.count("GetCACert") == asked.cert + 1)
        }
    }

    @Test func aNewCAURLAppliesToTheNextRequest() async throws {
        try await ProxyHarness.with { harness in
            let identifier = try await harness.wifi()
            let other = try await SCEPServer.started(challenge: harness.scep.challenge)
            try await harness.apply(wifiURL: other.url)
            let proxied = try await harness.request(harness.url(identifier.pathComponent) + "?operation=GetCACert")
            let direct = try await harness.request(other.url + "?operation=GetCACert")
            #expect(proxied.body == direct.body)
            #expect(other.count("GetCACert") == 2)
            other.stop()
        }
    }

    @Test func aStoppedCAGives502AndASilentOneGives504() async throws {
        try await ProxyHarness.with { harness in
            let identifier = try await harness.wifi()
            harness.scep.stop()
            let stopped = try await harness.request(harness.url(identifier.pathComponent) + "?operation=GetCACaps")
            #expect(stopped.status == 502)
            #expect(!stopped.text.contains(String(harness.scep.port)))
        }
        let silent = try SilentListener()
        try await ProxyHarness.with(caURL: "http://127.0.0.1:\(silent.port)/scep", upstreamTimeout: 1) { harness in
            let identifier = try await harness.wifi()
            let hung = try await harness.request(harness.url(identifier.pathComponent) + "?operation=GetCACert")
            #expect(hung.status == 504)
        }
    }

    @Test func healthzAndMetrics() async throws {
        try await ProxyHarness.with { harness in
            let answer = try await harness.request("http://127.0.0.1:\(harness.port)/healthz")
            #expect(answer.status == 200)
            let identifier = try await harness.wifi()
            // The second is answered from what was kept, without the CA: counted as a
            // request, and the CA's time is not.
            _ = try await harness.request(harness.url(identifier.pathComponent) + "?operation=GetCACaps")
            _ = try await harness.request(harness.url(identifier.pathComponent) + "?operation=GetCACaps")
            _ = try await harness.request(harness.url("a%2Cb%2Cc%2Cd") + "?operation=GetCACaps")
            let metrics = try await harness.request("http://127.0.0.1:\(harness.port)/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.text.contains(#"scepops_http_requests_total{route="/mdm/scep/proxy",status="200"} 2"#))
            #expect(metrics.text.contains(#"scepops_http_requests_total{route="/mdm/scep/proxy",status="404"} 1"#))
            #expect(metrics.text.contains(#"scepops_scep_upstream_duration_seconds_count{certificate_authority="WIFI"} 1"#), "\(metrics.text)")
            for secret in ValidRepo.environment.values { #expect(!metrics.text.contains(secret)) }
        }
    }
}

import NIOSSL

@Suite("Serving TLS")
struct ServingTLSTests {
    @Test func theServerSpeaksTLSWhenGivenACertificate() async throws {
        let folder = TempRepo()
        let made = await Command.run(
            "/usr/bin/openssl",
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.pem", "-days", "2",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], directory: folder.path)
        #expect(made.status == 0)
        let certificate = try NIOSSLCertificate.fromPEMFile(folder.path + "/cert.pem")
        let tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificate.map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: folder.path + "/key.pem", format: .pem)))
        var client = TLSConfiguration.makeClientConfiguration()
        client.trustRoots = .certificates(certificate)
        let https = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: client))
        do {
            try await ProxyHarness.with(tls: tls) { harness in
                let response = try await https.execute(
                    HTTPClientRequest(url: "https://127.0.0.1:\(harness.port)/healthz"), timeout: .seconds(30))
                #expect(response.status == .ok)
            }
        } catch {
            // A client dropped without shutdown stops the whole test process.
            try? await https.shutdown()
            throw error
        }
        try await https.shutdown()
    }
}
