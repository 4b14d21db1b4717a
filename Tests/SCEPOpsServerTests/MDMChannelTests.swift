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
                udid: "UDID-1", identity: try await DeviceIdentity.issued(from: harness.identityCA!, commonName: "UDID-1"), harness: harness)
            #expect(try await device.authenticate(enrollSecret: secret).status == 200)
            #expect(try await device.tokenUpdate().status == 200)
            #expect(try await harness.store.queuedCommands(host: "UDID-1").count == 2, "joining Workstations queued its profiles")
            try await harness.render(host: "UDID-1")

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

            // An Error report of a certificate profile sends it again, as Fleet retries them.
            var environment = ValidRepo.environment
            environment["WIFI_CHALLENGE"] = "rotated"
            let desired = PlanningFixtures.desired(
                ValidRepo.files.merging(["certificate_authorities/wifi.yml": ValidRepo.wifiCA.replacingOccurrences(
                    of: "https://scep.example.com/scep", with: harness.scep.url)]) { $1 }, environment: environment)
            let plan = Planner(secretDigest: harness.box.digest).plan(desired, against: try await harness.store.currentState())
            _ = try await harness.store.apply(ApplyRequest(plan: plan, desired: desired, planHash: "t", actor: "t", version: "t"))
            try await harness.render(host: "UDID-1")
            // The install of a certificate profile asked for the CertificateList, queued first.
            let list = try await device.report("Idle")
            #expect(list.type == "CertificateList")
            let redelivery = try await device.report("Acknowledged", list.uuid)
            #expect(redelivery.type == "InstallProfile")
            _ = try await device.report(
                "Error", redelivery.uuid,
                errorChain: [["ErrorCode": 22013, "ErrorDomain": "MCSCEPErrorDomain", "LocalizedDescription": "The SCEP server returned an invalid response."]])
            let wifi = try #require(try await harness.store.status().profiles.first { $0.team == "Workstations" && $0.identifier == "com.example.wifi" })
            #expect(wifi.hostProfiles[.pending] == 1 && wifi.hostProfiles[.failed] == 0)
        }
    }

    @Test func unsignedForeignReusedAndMismatchedIdentitiesGet400() async throws {
        try await ProxyHarness.with(mdm: true) { harness in
            let one = try await DeviceIdentity.issued(from: harness.identityCA!, commonName: "UDID-1")
            let device = PlistDevice(udid: "UDID-1", identity: one, harness: harness)
            let other = try await SCEPServer.started(challenge: "stranger")
            let stranger = try await DeviceIdentity.issued(from: other, commonName: "UDID-9")

            #expect(try await device.send("/mdm/apple/checkin", ["MessageType": "Authenticate", "UDID": "UDID-1", "Topic": "t"], signed: false).status == 400)
            #expect(try await device.send("/mdm/apple/checkin", ["MessageType": "Authenticate", "UDID": "UDID-1", "Topic": "t"], signer: stranger).status == 400)
            #expect(try await device.authenticate(enrollSecret: "not-a-team-secret").status == 400)
            #expect(try await device.authenticate(enrollSecret: nil).status == 400)
            // A UDID the state would read back as another's (its text stops at a NUL).
            let cut = try await device.authenticate(enrollSecret: secret, udid: "UDID-1\u{0}x")
            #expect(cut.status == 400 && String(decoding: cut.body, as: UTF8.self).contains("the UDID holds a control character"))
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

@Suite("Device identity hijack")
struct IdentityHijackTests {
    let secret = ValidRepo.environment["WS_SECRET"]!

    @Test(arguments: TestBackend.all)
    func aNewIdentityForABoundUDIDIsRefusedUntilCheckOutOrAnOperatorAllowsIt(_ backend: TestBackend) async throws {
        try await ProxyHarness.with(mdm: true, backend: backend) { harness in
            let real = PlistDevice(
                udid: "UDID-1", identity: try await DeviceIdentity.issued(from: harness.identityCA!, commonName: "UDID-1"), harness: harness)
            #expect(try await real.authenticate(enrollSecret: secret).status == 200)
            #expect(try await real.tokenUpdate().status == 200)
            try await harness.render(host: "UDID-1")

            // Anyone with the enrollment profile can mint an identity from the same CA.
            let impostor = PlistDevice(
                udid: "UDID-1", identity: try await DeviceIdentity.issued(from: harness.identityCA!, commonName: "impostor"), harness: harness)
            let kiosks = ValidRepo.environment["KIOSK_SECRET"]!
            #expect(try await impostor.authenticate(enrollSecret: secret).status == 400)
            #expect(try await impostor.authenticate(enrollSecret: kiosks).status == 400)
            #expect(try await impostor.report("Idle").status == 400, "the impostor gets no command")
            // The real host is untouched: same team, its identity still bound, its command waiting.
            #expect(try await harness.store.currentState().hostCounts == ["Workstations": 2], "HOST-1 and UDID-1, no Kiosks host")
            let next = try await real.report("Idle")
            #expect(next.status == 200)
            #expect(next.type == "InstallProfile")
            let metrics = try await harness.request("http://127.0.0.1:\(harness.port)/metrics")
            #expect(metrics.text.contains(#"scepops_mdm_refusals_total{reason="host_bound_to_another_identity"} 2"#), "\(metrics.text)")

            // An operator allows a new identity (a wiped device): once, with the CLI.
            let allow = await Command.run(
                Command.scepops, ["hosts", "allow-reenroll", "UDID-1", "--for", "10m", "--db", harness.database],
                environment: ["SCEPOPS_SECRET_KEY": Data(Array(repeating: UInt8(3), count: 32)).base64EncodedString()])
            #expect(allow.status == 0, "\(allow.stderr)")
            #expect(allow.stdout.contains("may enroll once with a new device identity until"))
            let wiped = PlistDevice(
                udid: "UDID-1", identity: try await DeviceIdentity.issued(from: harness.identityCA!, commonName: "wiped"), harness: harness)
            #expect(try await wiped.authenticate(enrollSecret: secret).status == 200)
            #expect(try await real.report("Idle").status == 400, "the old identity is no longer the host's")
            #expect(try await impostor.authenticate(enrollSecret: secret).status == 400, "the allowance is spent")
            let unknown = await Command.run(
                Command.scepops, ["hosts", "allow-reenroll", "NO-SUCH-UDID", "--db", harness.database],
                environment: ["SCEPOPS_SECRET_KEY": Data(Array(repeating: UInt8(3), count: 32)).base64EncodedString()])
            #expect(unknown.status == 1)
            #expect(unknown.stderr.contains("no host NO-SUCH-UDID"))
            let escaping = await Command.run(
                Command.scepops, ["hosts", "allow-reenroll", "UDID-1\u{1B}[2J", "--db", harness.database],
                environment: ["SCEPOPS_SECRET_KEY": Data(Array(repeating: UInt8(3), count: 32)).base64EncodedString()])
            #expect(escaping.status == 1)
            #expect(escaping.stderr.contains("the UDID holds a control character"), "\(escaping.stderr)")
            #expect(!(escaping.stdout + escaping.stderr).contains("\u{1B}"), "nothing of it reaches the terminal raw")

            // A host whose identity checked out (its enrollment profile removed) may come back
            // with a new one.
            #expect(try await wiped.send("/mdm/apple/checkin", ["MessageType": "CheckOut", "UDID": "UDID-1", "Topic": "t"]).status == 200)
            let reinstalled = PlistDevice(
                udid: "UDID-1", identity: try await DeviceIdentity.issued(from: harness.identityCA!, commonName: "reinstalled"), harness: harness)
            #expect(try await reinstalled.authenticate(enrollSecret: secret).status == 200)
        }
    }
}

@Suite("Verification through ProfileList")
struct VerificationTests {
    @Test func listedProfilesAreVerifiedMissingOnesResentThenFailed() async throws {
        try await ProxyHarness.with(mdm: true) { harness in
            let device = PlistDevice(
                udid: "UDID-V", identity: try await DeviceIdentity.issued(from: harness.identityCA!, commonName: "UDID-V"), harness: harness)
            _ = try await device.authenticate(enrollSecret: ValidRepo.environment["WS_SECRET"]!)
            _ = try await device.tokenUpdate()
            let worker = ProfileWorker(store: harness.store, settings: .init())
            var clock = Date()
            #expect(try await worker.cycle(now: clock).verifying == 1, "a newly enrolled host is asked at once")
            // The device answers its commands: two installs and the ProfileList.
            var next = try await device.report("Idle")
            var types: [String] = []
            while let uuid = next.uuid {
                types.append(next.type ?? "?")
                next = next.type == "ProfileList"
                    ? try await device.report("Acknowledged", uuid) // an empty list: nothing installed yet
                    : try await device.report("Acknowledged", uuid)
            }
            #expect(types == ["InstallProfile", "InstallProfile", "ProfileList", "CertificateList"])

            func status(_ identifier: String) async throws -> [DeliveryStatus: Int] {
                try await harness.store.status().profiles.first { $0.team == "Workstations" && $0.identifier == identifier }!.hostProfiles
            }
            // An hour later: the VPN profile is there, the Wi-Fi one is not, and one is not ours.
            func listAndAnswer(_ identifiers: [String]) async throws -> [String] {
                clock += 3601
                _ = try await worker.cycle(now: clock)
                var answered: [String] = []
                var next = try await device.report("Idle")
                while let uuid = next.uuid {
                    answered.append(next.type ?? "?")
                    if next.type == "ProfileList" {
                        let list = identifiers.map { ["PayloadIdentifier": $0, "PayloadUUID": UUID().uuidString] }
                        let dict: [String: Any] = ["Status": "Acknowledged", "UDID": "UDID-V", "CommandUUID": uuid, "ProfileList": list]
                        let answer = try await device.send("/mdm/apple/command", dict)
                        next = answer.body.isEmpty ? (200, nil, nil, []) : try await device.report("Idle")
                    } else {
                        next = try await device.report("Acknowledged", uuid)
                    }
                }
                _ = try await worker.cycle(now: clock)
                return answered
            }
            #expect(try await listAndAnswer(["com.example.vpn", "com.unmanaged.thing"]) == ["ProfileList", "CertificateList"])
            #expect(try await status("com.example.vpn")[.verified] == 1)
            #expect(try await status("com.example.wifi")[.pending] == 0)
            #expect(try await harness.store.unexpectedProfiles(host: "UDID-V") == ["com.unmanaged.thing"])
            // The Wi-Fi profile went out again (and was acknowledged, and is still missing) …
            for _ in 0..<3 { _ = try await listAndAnswer(["com.example.vpn"]) }
            // … three times, then it fails.
            #expect(try await status("com.example.wifi")[.failed] == 1)
            #expect(try await status("com.example.vpn")[.verified] == 1)
        }
    }

    /// A changed profile keeps its PayloadIdentifier: while its re-delivery is on its way, a
    /// ProfileList naming that identifier lists the old version, which verifies nothing and
    /// leaves the new one's proxy URL open. (The end-to-end rename found this.)
    @Test func aListedOldVersionDoesNotVerifyTheNewOneOnItsWay() async throws {
        try await ProxyHarness.with { harness in
            let store = harness.store
            let host = ProxyHarness.host
            try await store.updatePush(host: host, token: "ab", pushMagic: "magic", topic: "com.apple.mgmt.test")
            let worker = ProfileWorker(store: store, settings: .init(verifyInterval: nil))
            func answerProfileList(_ identifiers: [String]) async throws {
                _ = try await store.queueProfileLists(before: Date().addingTimeInterval(3600), limit: 10)
                _ = try await worker.cycle()
                let list = try #require(try await store.queuedCommands(host: host).last { $0.type == .profileList })
                _ = try await store.report(host: host, commandUUID: list.commandUUID, result: .profileList(identifiers), policy: RedeliveryPolicy())
            }
            func wifiStatus() async throws -> [DeliveryStatus: Int] {
                try await store.status().profiles.first { $0.team == "Workstations" && $0.identifier == "com.example.wifi" }!.hostProfiles
            }
            _ = try await harness.render()
            for command in try await store.queuedCommands(host: host) where command.type == .installProfile {
                _ = try await store.report(host: host, commandUUID: command.commandUUID, result: .acknowledged, policy: RedeliveryPolicy())
            }
            try await answerProfileList(["com.example.wifi", "com.example.vpn"])
            #expect(try await wifiStatus()[.verified] == 1)

            // The Wi-Fi profile changes; its re-delivery is rendered, not yet fetched.
            var files = ValidRepo.files
            files["certificate_authorities/wifi.yml"] = ValidRepo.wifiCA.replacingOccurrences(
                of: "https://scep.example.com/scep", with: harness.scep.url)
            files["profiles/wifi.mobileconfig"] = ValidRepo.profile().replacingOccurrences(of: "Wi-Fi certificate", with: "Wi-Fi certificate v2")
            try await harness.apply(files: files)
            let identifier = try await harness.wifi()
            try await answerProfileList(["com.example.wifi", "com.example.vpn"])
            #expect(try await wifiStatus()[.sent] == 1, "still on its way")
            #expect(try await wifiStatus()[.verified] == 0)
            let caps = try await harness.request(harness.url(identifier.pathComponent) + "?operation=GetCACaps")
            #expect(caps.status == 200, "the new version's proxy URL stays open: \(caps.text)")
        }
    }
}
