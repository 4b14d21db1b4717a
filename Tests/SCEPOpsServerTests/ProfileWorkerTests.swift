import Foundation
import SCEPOpsCore
import SCEPOpsServer
import SCEPOpsStore
import SCEPOpsTestSupport
import Testing

/// The profile worker on a real state file.
@Suite("Profile worker")
struct ProfileWorkerTests {
    private func command(_ payload: [UInt8]?) throws -> [String: Any] {
        let plist = try PropertyListSerialization.propertyList(from: Data(try #require(payload)), format: nil)
        return try #require(plist as? [String: Any])
    }

    @Test func installsAreRenderedForTheHost() async throws {
        try await ProxyHarness.with { harness in
            let result = try await ProfileWorker(store: harness.store, settings: .init()).cycle()
            #expect(result == .init(rendered: 2, failed: 0))
            let wifi = try await harness.profileUUID("com.example.wifi")
            let queued = try await harness.store.queuedCommands(host: ProxyHarness.host)
            let install = try #require(queued.first { $0.profile == wifi })
            let rendered = try await harness.plist(install, serverURL: "https://mdm.example.com/")
            let plist = try command(rendered)
            #expect(plist["CommandUUID"] as? String == install.commandUUID)
            #expect((plist["Command"] as? [String: Any])?["RequestType"] as? String == "InstallProfile")

            let profile = try #require(try ProxyHarness.installedProfile(rendered))
            let scep = try #require(profile["PayloadContent"]?.elements?.first?["PayloadContent"])
            #expect(scep["Challenge"]?.string == ValidRepo.environment["WIFI_CHALLENGE"])
            let url = try #require(scep["URL"]?.string)
            #expect(url.hasPrefix("https://mdm.example.com/mdm/scep/proxy/HOST-1%2C\(wifi)%2CWIFI%2C"))
            #expect(scep["Subject"]?.elements?[0].elements?[0].elements?[1].string == "fleet-\(wifi)")
            #expect(try await harness.store.status().hostProfiles[.sent] == 2)
            // Nothing left: a second cycle renders nothing.
            #expect(try await ProfileWorker(store: harness.store, settings: .init()).cycle() == .init())
            // Rendering happens in memory: the state never holds a challenge in clear.
            let state = harness.folder.path + "/state.db"
            for file in [state, state + "-wal"] {
                let bytes = try #require(FileManager.default.contents(atPath: file))
                #expect(bytes.range(of: Data(ValidRepo.environment["WIFI_CHALLENGE"]!.utf8)) == nil, "\(file)")
            }
        }
    }

    @Test func removalsComeFirstAndOnlyTheLatestOfARepeatedDeliveryIsRendered() async throws {
        try await ProxyHarness.with { harness in
            try await harness.render()
            // Two challenge rotations before the worker runs again: one re-install, not two.
            var environment = ValidRepo.environment
            for value in ["rotated-1", "rotated-2"] {
                environment["VPN_CHALLENGE"] = value
                let desired = PlanningFixtures.desired(
                    ValidRepo.files.merging(["certificate_authorities/wifi.yml": ValidRepo.wifiCA.replacingOccurrences(
                        of: "https://scep.example.com/scep", with: harness.scep.url)]) { $1 },
                    environment: environment)
                let plan = Planner(secretDigest: harness.box.digest).plan(desired, against: try await harness.store.currentState())
                _ = try await harness.store.apply(ApplyRequest(plan: plan, desired: desired, planHash: "t", actor: "t", version: "t"))
            }
            // Then the host leaves for another team.
            try await harness.store.enroll(host: ProxyHarness.host, serial: nil, team: "Kiosks")
            let result = try await ProfileWorker(store: harness.store, settings: .init(batchSize: 1)).cycle()
            #expect(result.rendered == 4)
            let fresh = try await harness.store.queuedCommands(host: ProxyHarness.host).dropFirst(2)
            #expect(fresh.map(\.type.rawValue) == ["RemoveProfile", "RemoveProfile", "InstallProfile", "InstallProfile"])
            let removal = try command(try await harness.plist(fresh.first!))
            let identifier = (removal["Command"] as? [String: Any])?["Identifier"] as? String
            #expect(["com.example.vpn", "com.example.wifi"].contains(identifier))
        }
    }

    @Test func asAServiceItRendersWhatApplyQueuesWithoutWaitingForACycle() async throws {
        try await ProxyHarness.with { harness in
            let worker = ProfileWorker(store: harness.store, settings: .init(pollInterval: .milliseconds(100)))
            let running = Task { try await worker.run() }
            try await harness.store.enroll(host: "HOST-9", serial: nil, team: "Kiosks")
            var rendered = 0
            for _ in 0..<100 where rendered < 2 {
                try await Task.sleep(for: .milliseconds(50))
                rendered = try await harness.store.queuedCommands(host: "HOST-9").count { $0.commandUUID != nil }
            }
            running.cancel()
            _ = try? await running.value
            #expect(rendered == 2)
        }
    }
}

import MDM
import NIOSSL

@Suite("Pushes from the worker")
struct WorkerPushTests {
    /// The APNs stand-in and a client with the push certificate; both stopped however `body` ends
    /// (a client dropped without shutdown stops the test process).
    private func withPusher(_ body: (APNsTestServer, APNsClient) async throws -> Void) async throws {
        let apns = try await APNsTestServer()
        let http = try APNsClient.makeHTTPClient(
            certificatePEM: apns.pushCertificatePEM, keyPEM: apns.pushKeyPEM,
            trustRoots: try NIOSSLCertificate.fromPEMBytes(Array(apns.serverCertificatePEM.utf8)))
        defer { Task { [http] in try? await http.shutdown() } }
        try await body(apns, APNsClient(client: http, endpoint: apns.url, topic: APNsTestServer.topic, backoff: .milliseconds(10)))
        try await http.shutdown()
        await apns.stop()
    }

    @Test func oneReadyHostOnePushAndAStaleTokenIsLeftAlone() async throws {
        try await withPusher { apns, pusher in try await ProxyHarness.with(mdm: true) { harness in
            let device = PlistDevice(
                udid: "UDID-P", identity: try await DeviceIdentity.issued(from: harness.identityCA!, commonName: "UDID-P"), harness: harness)
            _ = try await device.authenticate(enrollSecret: ValidRepo.environment["WS_SECRET"]!)
            _ = try await device.tokenUpdate()
            // Enrolled but never token-updated: no push, nothing to push to.
            try await harness.store.enroll(host: "NO-TOKEN", serial: nil, team: "Workstations")
            let worker = ProfileWorker(
                store: harness.store, settings: .init(verifyInterval: nil), pusher: pusher)
            let first = try await worker.cycle()
            #expect(first.rendered == 6, "two profiles for each of three hosts")
            #expect(first.pushed == 1, "two commands, one push")
            let push = try #require(apns.requests.first)
            #expect(push.token == String(repeating: "ab", count: 32))
            #expect(push.body == "{\"mdm\":\"magic-UDID-P\"}")

            // APNs says the token is gone: marked stale, and not pushed again.
            apns.respond(to: push.token, with: [410])
            try await harness.store.enroll(host: "UDID-P", serial: nil, team: "Kiosks")
            #expect(try await worker.cycle().staleTokens == 1)
            try await harness.store.enroll(host: "UDID-P", serial: nil, team: "Workstations")
            #expect(try await worker.cycle().pushed == 0)
            #expect(apns.requests.count == 2)
            // A TokenUpdate brings it back.
            _ = try await device.tokenUpdate()
            try await harness.store.enroll(host: "UDID-P", serial: nil, team: "Kiosks")
            #expect(try await worker.cycle().pushed == 1)
        } }
    }

    /// Each batch's hosts are pushed while the next is readied: every host once, in one cycle;
    /// when APNs asks to retry, the pushing stops and the next cycle takes the rest.
    @Test func pushesOverlapReadyingEveryHostOnceAndARetryWaitsForTheNextCycle() async throws {
        try await withPusher { apns, pusher in try await ProxyHarness.with { harness in
            func enroll(_ hosts: Range<Int>) async throws {
                for index in hosts {
                    try await harness.store.enroll(host: String(format: "P-%02d", index), serial: nil, team: "Workstations")
                    try await harness.store.updatePush(host: String(format: "P-%02d", index), token: String(format: "t%02d", index), pushMagic: "m", topic: "t")
                }
            }
            // Two commands a host, four a batch: ten batches of two hosts, and rounds of two pushes.
            let settings = ProfileWorker.Settings(batchSize: 4, verifyInterval: nil)
            try await enroll(0..<20)
            let first = try await ProfileWorker(store: harness.store, settings: settings, pusher: pusher).cycle()
            #expect(first.rendered == 40 + 2, "and HOST-1's, which has no push token")
            #expect(first.pushed == 20)
            #expect(apns.requests.map(\.token).sorted() == (0..<20).map { String(format: "t%02d", $0) })

            try await enroll(20..<40)
            apns.respond(to: "t25", with: [429, 429, 429])
            let second = try await ProfileWorker(store: harness.store, settings: settings, pusher: pusher).cycle()
            #expect(second.rendered == 40)
            #expect(second.pushed < 19, "the rounds after the retry wait")
            let third = try await ProfileWorker(store: harness.store, settings: settings, pusher: pusher).cycle()
            #expect(second.pushed + third.pushed == 20)
            let delivered = apns.requests.map(\.token).filter { $0 >= "t20" && $0 != "t25" }
            #expect(delivered.sorted() == (20..<40).filter { $0 != 25 }.map { String(format: "t%02d", $0) }, "each once")
            #expect(apns.requests.filter { $0.token == "t25" }.count == 4, "three refused, then delivered")
        } }
    }
}
