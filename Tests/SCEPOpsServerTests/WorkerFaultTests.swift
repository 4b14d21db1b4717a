import Foundation
import MDM
import NIOSSL
import SCEPOpsCore
import SCEPOpsServer
import SCEPOpsStore
import SCEPOpsTestSupport
import Testing

/// The worker when a server dies mid-cycle, and when one CA's challenge is unreadable.
@Suite("Worker faults")
struct WorkerFaultTests {
    @Test func hostsMadeReadyByAServerThatDiedBeforePushingArePushedAfterItsRestart() async throws {
        let apns = try await APNsTestServer()
        var silent: SilentListener? = try SilentListener()
        let trust = try NIOSSLCertificate.fromPEMBytes(Array(apns.serverCertificatePEM.utf8))
        let dyingHTTP = try APNsClient.makeHTTPClient(
            certificatePEM: apns.pushCertificatePEM, keyPEM: apns.pushKeyPEM, trustRoots: trust)
        let liveHTTP = try APNsClient.makeHTTPClient(
            certificatePEM: apns.pushCertificatePEM, keyPEM: apns.pushKeyPEM, trustRoots: trust)
        // The first server's pushes hang (APNs never answers), so it dies with its hosts
        // made ready and not yet pushed.
        let dying = APNsClient(client: dyingHTTP, endpoint: "https://127.0.0.1:\(silent!.port)", topic: APNsTestServer.topic, attempts: 1,
            timeout: .seconds(2))
        let live = APNsClient(client: liveHTTP, endpoint: apns.url, topic: APNsTestServer.topic, backoff: .milliseconds(10))
        // A client dropped without shutdown stops the test process: shut both down however the body ends.
        defer { Task { [dyingHTTP, liveHTTP] in for client in [dyingHTTP, liveHTTP] { try? await client.shutdown() } } }
        try await ProxyHarness.with(mdm: true) { harness in
            let device = PlistDevice(
                udid: "UDID-K", identity: try await DeviceIdentity.issued(from: harness.identityCA!, commonName: "UDID-K"), harness: harness)
            _ = try await device.authenticate(enrollSecret: ValidRepo.environment["WS_SECRET"]!)
            _ = try await device.tokenUpdate()
            let settings = ProfileWorker.Settings(verifyInterval: nil, claimLifetime: 1)
            let cycle = Task { try await ProfileWorker(store: harness.store, settings: settings, pusher: dying).cycle() }
            let deadline = Date().addingTimeInterval(20)
            func ready() async throws -> Bool {
                let commands = try await harness.store.queuedCommands(host: "UDID-K")
                return !commands.isEmpty && commands.allSatisfy { $0.commandUUID != nil }
            }
            while try await !ready(), Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
            try #require(try await ready(), "the first server never made the commands ready")
            // The server dies here: its cycle stops and its connections go.
            cycle.cancel()
            silent = nil
            try await dyingHTTP.shutdown()
            _ = try? await cycle.value
            #expect(apns.requests.isEmpty)

            // The dead server's claim on the push runs out; then the host is anyone's to push.
            try await Task.sleep(for: .milliseconds(1100))
            let restarted = try await ProfileWorker(store: harness.store, settings: settings, pusher: live).cycle()
            #expect(restarted.rendered == 0, "nothing new to make ready")
            #expect(restarted.pushed == 1, "the host the dead server made ready is pushed")
            #expect(apns.requests.map(\.token) == [String(repeating: "ab", count: 32)])
            #expect(try await ProfileWorker(store: harness.store, settings: settings, pusher: live).cycle().pushed == 0, "once")
        }
        try await liveHTTP.shutdown()
        await apns.stop()
    }

    @Test func aCAWhoseChallengeCannotBeOpenedFailsItsOwnDeliveriesAndTheOthersGoOn() async throws {
        try await ProxyHarness.with { harness in
            // Sealed under another key: what a restored backup with the wrong key file gives.
            let other = try SecretBox(key: Array(repeating: 9, count: 32))
            let sealed = other.seal(Array("some challenge".utf8)).map { String(format: "%02X", $0) }.joined()
            let update = await Command.run(
                "/usr/bin/sqlite3",
                [harness.folder.path + "/state.db", "UPDATE certificate_authority SET challenge_sealed = X'\(sealed)' WHERE name = 'WIFI'"])
            try #require(update.status == 0, "\(update.stderr)")
            let result = try await ProfileWorker(store: harness.store, settings: .init(verifyInterval: nil)).cycle()
            #expect(result.failed == 1, "HOST-1's Wi-Fi delivery")
            #expect(result.rendered == 1, "HOST-1's VPN delivery goes on")
            let failed = try await harness.store.hostObservations().failed
            #expect(failed.count == 1)
            #expect(failed.first?.detail?.contains("the challenge of WIFI stored in the state cannot be decrypted") == true)
            let vpn = try await harness.store.status().profiles.first { $0.team == "Workstations" && $0.identifier != "com.example.wifi" }
            #expect(vpn?.hostProfiles[.sent] == 1)
        }
    }
}
