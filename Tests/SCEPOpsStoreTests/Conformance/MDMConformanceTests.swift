import Foundation
import SCEPOpsCore
import SCEPOpsStore
import SCEPOpsTestSupport
import Testing

/// MDMStore, the check-in and command channel's role, on every backend.
@Suite("Store conformance: MDM channel")
struct MDMConformanceTests {
    private func refusal<T>(_ result: Result<T, MDMRefusal>) -> MDMRefusal? {
        if case .failure(let refusal) = result { refusal } else { nil }
    }

    @Test(arguments: BackendFactory.all)
    func anEnrollSecretNamesItsTeam(_ backend: BackendFactory) async throws {
        let store = try await StoreFixture(backend).store
        #expect(try await store.team(enrollSecret: Secret(ValidRepo.environment["KIOSK_SECRET"]!)) == "Kiosks")
        #expect(try await store.team(enrollSecret: Secret("guess")) == nil)
    }

    /// The check-in URL's reference names a team without its secret; only the state's key
    /// and the secret make one.
    @Test(arguments: BackendFactory.all)
    func aCheckInReferenceNamesItsTeam(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend)
        let secret = Secret(ValidRepo.environment["KIOSK_SECRET"]!)
        let reference = SecretBox.checkInReference(digest: fixture.box.digest(secret))
        #expect(try await fixture.store.team(checkInReference: reference) == "Kiosks")
        #expect(!reference.contains(ValidRepo.environment["KIOSK_SECRET"]!) && reference.count == 32)
        let otherKey = try SecretBox(key: Array(repeating: 9, count: 32))
        #expect(try await fixture.store.team(checkInReference: SecretBox.checkInReference(digest: otherKey.digest(secret))) == nil)
        #expect(try await fixture.store.team(checkInReference: String(reference.dropLast())) == nil)
    }

    @Test(arguments: BackendFactory.all)
    func identitiesBindOnceAndARefusalChangesNothing(_ backend: BackendFactory) async throws {
        let store = try await StoreFixture(backend).store
        let now = Date()
        #expect(refusal(try await store.authenticate(host: "H1", serial: "S1", team: "Kiosks", identity: "id-1", now: now)) == nil)
        #expect(try await store.isBound(host: "H1", identity: "id-1"))
        #expect(try await store.queuedCommands(host: "H1").count == 2, "joining Kiosks queued its profiles")
        #expect(refusal(try await store.authenticate(host: "H2", serial: nil, team: "Kiosks", identity: "id-1", now: now)) == .identityReused)
        #expect(try await store.queuedCommands(host: "H2") == [])
        // An impostor with another team's secret: refused, and H1 stays where it was.
        #expect(refusal(try await store.authenticate(host: "H1", serial: nil, team: "Workstations", identity: "id-evil", now: now)) == .hostBoundElsewhere)
        #expect(try await store.currentState().hostCounts == ["Kiosks": 1])
        #expect(try await !store.isBound(host: "H1", identity: "id-evil"))
        // An operator's allowance lets one new identity in, once.
        #expect(try await store.allowReenrollment(host: "H1", until: now.addingTimeInterval(60)))
        #expect(try await !store.allowReenrollment(host: "NOBODY", until: now.addingTimeInterval(60)))
        #expect(refusal(try await store.authenticate(host: "H1", serial: nil, team: "Kiosks", identity: "id-2", now: now)) == nil)
        #expect(refusal(try await store.authenticate(host: "H1", serial: nil, team: "Kiosks", identity: "id-3", now: now)) == .hostBoundElsewhere)
        #expect(try await !store.isBound(host: "H1", identity: "id-1"))
        // CheckOut: the host leaves its team, and a new identity may bind.
        try await store.checkOut(host: "H1")
        #expect(try await store.currentState().hostCounts == [:])
        #expect(try await store.queuedCommands(host: "H1").suffix(2).map(\.type) == [.removeProfile, .removeProfile])
        #expect(refusal(try await store.authenticate(host: "H1", serial: nil, team: "Kiosks", identity: "id-3", now: now)) == nil)
    }

    @Test(arguments: BackendFactory.all)
    func reportsAnswerWithTheNextCommandAndRecordResults(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend)
        let store = fixture.store
        try await store.enroll(host: "H1", serial: nil, team: "Workstations")
        #expect(try await store.report(host: "H1", commandUUID: nil, result: .idle).get() == nil, "nothing ready yet")
        try await fixture.ready()
        let first = try #require(try await store.report(host: "H1", commandUUID: nil, result: .idle).get())
        // NotNow: the same command is not offered again in reply, but the next one is.
        let second = try #require(try await store.report(host: "H1", commandUUID: first.commandUUID, result: .notNow).get())
        #expect(second.commandUUID != first.commandUUID)
        // With no re-delivery left, a certificate profile's Error fails its delivery.
        let final = RedeliveryPolicy(maximumRedeliveries: 0)
        let again = try #require(
            try await store.report(host: "H1", commandUUID: second.commandUUID, result: .error(detail: "no room"), policy: final).get())
        #expect(again.commandUUID == first.commandUUID, "a later poll gets the NotNow command again")
        #expect(try await store.report(host: "H1", commandUUID: first.commandUUID, result: .acknowledged).get() == nil)
        #expect(refusal(try await store.report(host: "H1", commandUUID: "made-up", result: .acknowledged)) == .unknownCommand)
        let failed = try await store.hostObservations().failed
        #expect(failed.map(\.detail) == ["the device could not install it: no room; given up after 0 re-deliveries with fresh tokens"])
        let status = try await store.status().hostProfiles
        #expect(status[.failed] == 1 && status[.sent] == 1, "acknowledged installs wait for ProfileList")
    }

    /// An Idle poll reads the binding and whether it must be reported at once: a stranger is
    /// refused, a host with a command ready or a stale `last_seen` is reported, and a quiet
    /// one is answered without a write.
    @Test(arguments: BackendFactory.all)
    func anIdlePollIsDecidedInOneRead(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend)
        let store = fixture.store
        let now = Date()
        #expect(refusal(try await store.authenticate(host: "H1", serial: nil, team: "Kiosks", identity: "id-1", now: now)) == nil)
        #expect(try await store.idlePoll(host: "H1", identity: "id-evil", now: now) == .notBound)
        #expect(try await store.idlePoll(host: "NOBODY", identity: "id-1", now: now) == .notBound)
        try await fixture.ready()
        #expect(try await store.idlePoll(host: "H1", identity: "id-1", now: now) == .report, "commands are ready")
        try await fixture.acknowledgeAll(host: "H1")
        #expect(try await store.idlePoll(host: "H1", identity: "id-1", now: Date()) == .quiet, "seen just now, nothing ready")
        let later = Date().addingTimeInterval(LastSeen.resolution + 1)
        #expect(try await store.idlePoll(host: "H1", identity: "id-1", now: later) == .report, "last_seen is due")
    }

    @Test(arguments: BackendFactory.all)
    func aProfileListVerifiesResendsAndRecordsStrangers(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend)
        let store = fixture.store
        try await store.enroll(host: "H1", serial: nil, team: "Workstations")
        try await store.updatePush(host: "H1", token: "aa", pushMagic: "m", topic: "t")
        try await fixture.ready()
        try await fixture.acknowledgeAll(host: "H1")
        _ = try await store.queueProfileLists(before: Date().addingTimeInterval(3600), limit: 10)
        try await fixture.ready()
        let list = try #require(try await store.queuedCommands(host: "H1").first { $0.type == .profileList }?.commandUUID)
        _ = try await store.report(host: "H1", commandUUID: list, result: .profileList(["com.example.vpn", "com.other.thing"]))
        #expect(try await fixture.delivery("H1", "Workstations", "com.example.vpn")[.verified] == 1)
        #expect(try await fixture.delivery("H1", "Workstations", "com.example.wifi")[.pending] == 1, "missing: sent again")
        #expect(try await store.pendingCommands(limit: 10, now: Date()).map(\.type) == [.installProfile])
        #expect(try await store.unexpectedProfiles(host: "H1") == ["com.other.thing"])
        let missing = try await store.hostObservations().missing
        #expect(missing.map(\.profile) == ["Workstations/com.example.wifi"] && missing.map(\.retries) == [1])
    }

    @Test(arguments: BackendFactory.all)
    func aCertificateListReplacesWhatTheHostHeld(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend)
        let store = fixture.store
        try await store.enroll(host: "H1", serial: nil, team: "Workstations")
        try await store.updatePush(host: "H1", token: "aa", pushMagic: "m", topic: "t")
        for round in 0..<2 {
            _ = try await store.queueProfileLists(before: Date().addingTimeInterval(3600 * Double(round + 1)), limit: 10)
            try await fixture.ready()
            let queued = try await store.queuedCommands(host: "H1")
            let profiles = try #require(queued.last { $0.type == .profileList }?.commandUUID)
            _ = try await store.report(host: "H1", commandUUID: profiles, result: .profileList([]))
            let list = try #require(queued.last { $0.type == .certificateList }?.commandUUID)
            let certificate = ReportedCertificate(
                subject: "CN=H1 round \(round)", fingerprint: "f\(round)", notAfter: "2027-01-0\(round + 1)T00:00:00Z",
                isIdentity: false)
            _ = try await store.report(host: "H1", commandUUID: list, result: .certificateList([certificate]))
        }
        #expect(try await store.hostObservations().certificates.map(\.subject) == ["CN=H1 round 1"])
    }
}
