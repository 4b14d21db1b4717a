import Foundation
import SCEPOpsCore
import SCEPOpsServer
import SCEPOpsStore
import SCEPOpsTestSupport
import Testing

/// Check-in and command channel with signed plists from scepserver-issued identities.
@Suite("MDM check-in and command channel")
struct MDMChannelTests {
    let secret = ValidRepo.environment["WS_SECRET"]!

    @Test func enrollReceiveAcknowledgeAndNotNow() async throws {
        try await ProxyHarness.with(mdm: true) { harness in
            let device = PlistDevice(
                udid: "UDID-1", identity: try DeviceIdentity(from: harness.identityCA!, commonName: "UDID-1"), harness: harness)
            #expect(try await device.authenticate(enrollSecret: secret).status == 200)
            #expect(try await device.tokenUpdate().status == 200)
            #expect(try harness.store.queuedCommands(host: "UDID-1").count == 2, "joining Workstations queued its profiles")
            try harness.render(host: "UDID-1")

            let first = try await device.report("Idle")
            #expect(first.status == 200)
            #expect(first.type == "InstallProfile")
            // NotNow: the reply is the other command, and the first comes back later.
            let second = try await device.report("NotNow", first.uuid)
            #expect(second.type == "InstallProfile")
            #expect(second.uuid != first.uuid)
            let again = try await device.report("Acknowledged", second.uuid)
            #expect(again.uuid == first.uuid)

            // Acknowledged: installed, and its proxy URL is spent.
            let profile = try #require(try ProxyHarness.installedProfile(again.payload)?["PayloadContent"]?.elements?.first)
            let done = try await device.report("Acknowledged", again.uuid)
            #expect(done.status == 200)
            #expect(done.uuid == nil)
            if let url = profile["PayloadContent"]?["URL"]?.string {
                let refused = try await harness.request(url + "?operation=GetCACaps")
                #expect(refused.status == 403)
            }

            // An Error report fails the delivery with the device's words.
            var environment = ValidRepo.environment
            environment["WIFI_CHALLENGE"] = "rotated"
            let desired = PlanningFixtures.desired(
                ValidRepo.files.merging(["certificate_authorities/wifi.yml": ValidRepo.wifiCA.replacingOccurrences(
                    of: "https://scep.example.com/scep", with: harness.scep.url)]) { $1 }, environment: environment)
            let plan = Planner(secretDigest: harness.box.digest).plan(desired, against: try harness.store.currentState())
            _ = try harness.store.apply(ApplyRequest(plan: plan, desired: desired, planHash: "t", actor: "t", version: "t"))
            try harness.render(host: "UDID-1")
            let redelivery = try await device.report("Idle")
            #expect(redelivery.type == "InstallProfile")
            _ = try await device.report(
                "Error", redelivery.uuid,
                errorChain: [["ErrorCode": 22013, "ErrorDomain": "MCSCEPErrorDomain", "LocalizedDescription": "The SCEP server returned an invalid response."]])
            let wifi = try #require(try harness.store.status().profiles.first { $0.team == "Workstations" && $0.identifier == "com.example.wifi" })
            #expect(wifi.hostProfiles["failed"] == 1)
        }
    }

    @Test func unsignedForeignReusedAndMismatchedIdentitiesGet400() async throws {
        try await ProxyHarness.with(mdm: true) { harness in
            let one = try DeviceIdentity(from: harness.identityCA!, commonName: "UDID-1")
            let device = PlistDevice(udid: "UDID-1", identity: one, harness: harness)
            let other = try SCEPServer(challenge: "stranger")
            let stranger = try DeviceIdentity(from: other, commonName: "UDID-9")

            #expect(try await device.send("/mdm/apple/checkin", ["MessageType": "Authenticate", "UDID": "UDID-1", "Topic": "t"], signed: false).status == 400)
            #expect(try await device.send("/mdm/apple/checkin", ["MessageType": "Authenticate", "UDID": "UDID-1", "Topic": "t"], signer: stranger).status == 400)
            #expect(try await device.authenticate(enrollSecret: "not-a-team-secret").status == 400)
            #expect(try await device.authenticate(enrollSecret: nil).status == 400)
            #expect(try await device.authenticate(enrollSecret: secret).status == 200)
            // The same identity for another UDID: at Authenticate, and on a later check-in.
            #expect(try await device.authenticate(enrollSecret: secret, udid: "UDID-2").status == 400)
            #expect(try await device.tokenUpdate(udid: "UDID-2").status == 400)
            // A command result for a command this host was never sent.
            #expect(try await device.report("Acknowledged", "no-such-command").status == 400)
            other.stop()
        }
    }
}
