import Foundation
import SCEPOpsCore
import SCEPOpsStore
import SCEPOpsTestSupport
import Testing

/// StateReader, ApplyWriter, ApplyHistoryReader, StatusReader, LeaseStore and the host
/// commands an apply queues, on every backend.
@Suite("Store conformance: apply")
struct ApplyConformanceTests {
    @Test(arguments: BackendFactory.all)
    func appliedStateReadsBackAndReplansToNothing(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend, applied: nil)
        let store = fixture.store
        let (plan, record) = try await fixture.apply(ValidRepo.files)
        #expect(plan.changes.count == 8)
        #expect(record.counts[.create] == 8)
        let state = try await store.currentState()
        #expect(state.revision == 1)
        #expect(state.certificateAuthorities.keys.sorted() == ["VPN", "WIFI"])
        #expect(state.profiles.keys.sorted().map(\.description) == [
            "Kiosks/com.example.vpn", "Kiosks/com.example.wifi", "Workstations/com.example.vpn",
            "Workstations/com.example.wifi",
        ])
        let again = Planner(secretDigest: fixture.box.digest).plan(PlanningFixtures.desired(ValidRepo.files), against: state)
        #expect(again.changes == [])
        #expect(try await store.applies().map(\.result) == [.applied])
    }

    @Test(arguments: BackendFactory.all)
    func aTeamNameWithASlashAppliesAndRemovesCleanly(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend, applied: nil)
        let store = fixture.store
        var files = ValidRepo.files
        files["teams/kiosks.yml"] = ValidRepo.kiosks.replacingOccurrences(of: "name: Kiosks", with: "name: Kiosks/Lobby")
        try await fixture.apply(files)
        try await store.enroll(host: "H1", serial: nil, team: "Kiosks/Lobby")
        let state = try await store.currentState()
        #expect(state.profiles.keys.contains(ProfileKey(team: "Kiosks/Lobby", identifier: "com.example.wifi")))
        #expect(Planner(secretDigest: fixture.box.digest).plan(PlanningFixtures.desired(files), against: state).changes == [])
        // Updating and deleting its profiles finds them by their typed key, not a split name.
        files["teams/kiosks.yml"] = ValidRepo.kiosks.replacingOccurrences(of: "name: Kiosks", with: "name: Kiosks/Lobby")
            .replacingOccurrences(of: "profiles/**/*.mobileconfig", with: "profiles/wifi.mobileconfig")
        let (plan, _) = try await fixture.apply(files)
        #expect(plan.changes.map { "\($0.action.rawValue) \($0.name)" } == ["delete Kiosks/Lobby/com.example.vpn"])
        #expect(try await store.queuedCommands(host: "H1").map(\.type.rawValue).last == "RemoveProfile")
    }

    @Test(arguments: BackendFactory.all)
    func aRenameQueuesRemoveProfileBeforeInstallProfileOnEveryHost(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend, applied: nil)
        let store = fixture.store
        let hosts = ["H1", "H2", "H3"]
        try await fixture.apply(ValidRepo.files)
        for host in hosts { try await store.enroll(host: host, serial: "S-\(host)", team: "Workstations") }
        // Joining the team queued its two profiles.
        #expect(try await store.queuedCommands(host: "H1").map(\.type.rawValue) == ["InstallProfile", "InstallProfile"])
        let oldWifi = try #require(try await store.status().profiles.first { $0.identifier == "com.example.wifi" && $0.team == "Workstations" }?.uuid)

        var renamed = ValidRepo.files
        renamed["certificate_authorities/wifi.yml"] = ValidRepo.wifiCA.replacingOccurrences(of: "name: WIFI", with: "name: WIFI_2026")
        renamed["profiles/wifi.mobileconfig"] = ValidRepo.profile(
            challenge: "$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_WIFI_2026", url: "$FLEET_VAR_CUSTOM_SCEP_PROXY_URL_WIFI_2026")
        try await fixture.apply(renamed)
        let newWifi = try #require(try await store.status().profiles.first { $0.identifier == "com.example.wifi" && $0.team == "Workstations" }?.uuid)
        #expect(newWifi != oldWifi, "a re-installed profile gets a new uuid, so old proxy URLs no longer match")
        for host in hosts {
            let commands = try await store.queuedCommands(host: host).dropFirst(2)
            #expect(commands.map(\.type.rawValue) == ["RemoveProfile", "InstallProfile"])
            #expect(commands.map(\.profile) == [oldWifi, newWifi])
        }
        // Per host: the VPN profile from joining, the old Wi-Fi removal, the new install.
        #expect(try await store.status().hostProfiles[.pending] == 9)
        #expect(try await store.currentState().certificateAuthorities.keys.sorted() == ["VPN", "WIFI_2026"])
    }

    @Test(arguments: BackendFactory.all)
    func aNewChallengeRedeliversTheProfilesThatUseIt(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend, applied: nil)
        let store = fixture.store
        try await fixture.apply(ValidRepo.files)
        try await store.enroll(host: "K1", serial: nil, team: "Kiosks")
        var environment = ValidRepo.environment
        environment["VPN_CHALLENGE"] = "a-new-vpn-challenge"
        let (plan, _) = try await fixture.apply(ValidRepo.files, environment: environment)
        #expect(plan.changes.map(\.hostsAffected) == [1])
        let vpn = try #require(try await store.status().profiles.first { $0.team == "Kiosks" && $0.identifier == "com.example.vpn" })
        // After the two installs of joining Kiosks: the VPN profile once more.
        #expect(try await store.queuedCommands(host: "K1").map(\.type.rawValue) == ["InstallProfile", "InstallProfile", "InstallProfile"])
        #expect(try await store.queuedCommands(host: "K1").last?.profile == vpn.uuid)
    }

    @Test(arguments: BackendFactory.all)
    func hostsJoiningAndLeavingTeamsGetTheirProfilesQueued(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend, applied: nil)
        let store = fixture.store
        try await fixture.apply(ValidRepo.files)
        try await store.enroll(host: "M1", serial: nil, team: "Kiosks")
        try await store.enroll(host: "M1", serial: nil, team: "Kiosks")
        #expect(try await store.queuedCommands(host: "M1").count == 2, "enrolling again in the same team queues nothing")
        try await store.enroll(host: "M1", serial: nil, team: nil)
        #expect(try await store.queuedCommands(host: "M1").map(\.type.rawValue) == [
            "InstallProfile", "InstallProfile", "RemoveProfile", "RemoveProfile",
        ])
    }

    @Test(arguments: BackendFactory.all)
    func aStalePlanWritesNothing(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend, applied: nil)
        let store = fixture.store
        let desired = PlanningFixtures.desired(ValidRepo.files)
        let plan = Planner(secretDigest: fixture.box.digest).plan(desired, against: try await store.currentState())
        try await fixture.apply(ValidRepo.files)
        await #expect {
            try await store.apply(ApplyRequest(plan: plan, desired: desired, planHash: "x", actor: "t", version: "t"))
        } throws: { ($0 as? StoreError)?.code == .stalePlan }
        #expect(try await store.currentState().revision == 1)
        #expect(try await store.applies().count == 1)
    }

    @Test(arguments: BackendFactory.all)
    func theLeaseNamesItsHolderUntilReleased(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend, applied: nil)
        let store = fixture.store
        let alive = Lease(owner: "alice@ci:1", host: "ci-runner", pid: getpid(), commit: "abc", ttl: 600, wait: 0)
        #expect(try await store.acquireLease(alive) == nil)
        let other = Lease(owner: "bob@ci:2", host: "ci-runner", pid: getpid(), commit: nil, ttl: 600, wait: 0)
        await #expect {
            _ = try await store.acquireLease(other)
        } throws: { error in
            let error = error as? StoreError
            return error?.code == .locked && error?.message.contains("alice@ci:1") == true
        }
        try await store.releaseLease(owner: "alice@ci:1")
        #expect(try await store.acquireLease(other) == nil, "a released lease is free")
        try await store.releaseLease(owner: "bob@ci:2")
    }
}
