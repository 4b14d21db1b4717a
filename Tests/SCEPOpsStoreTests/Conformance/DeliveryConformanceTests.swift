import Foundation
import SCEPOpsCore
import SCEPOpsStore
import SCEPOpsTestSupport
import Testing

/// DeliveryStore, the profile worker's role, on every backend.
@Suite("Store conformance: deliveries")
struct DeliveryConformanceTests {
    @Test(arguments: BackendFactory.all)
    func pendingCommandsComeInQueueOrderWithTheirProfilesAndCAs(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend)
        let store = fixture.store
        try await store.enroll(host: "H1", serial: nil, team: "Workstations")
        let wifi = try await fixture.profileUUID("Workstations", "com.example.wifi")
        let pending = try await store.pendingCommands(limit: 10, now: Date())
        #expect(pending.map(\.type) == [.installProfile, .installProfile])
        #expect(pending.map(\.id) == pending.map(\.id).sorted())
        let command = try #require(pending.first { $0.profile == wifi })
        #expect(command.certificateAuthorities == ["WIFI"])
        #expect(command.content.map { String(decoding: $0, as: UTF8.self).contains("com.example.wifi") } == true)
        #expect(try await store.pendingCommands(limit: 1, now: Date()).count == 1, "the limit holds")
        #expect(try await store.queueDepth() == 2)
        #expect(try await store.challenge(of: "WIFI")?.revealed == ValidRepo.environment["WIFI_CHALLENGE"])
        #expect(try await store.challenge(of: "NOPE") == nil)
    }

    @Test(arguments: BackendFactory.all)
    func aLaterCommandForTheSameProfileSupersedesAnUnassignedOne(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend)
        let store = fixture.store
        try await store.enroll(host: "H1", serial: nil, team: "Kiosks")
        try await store.enroll(host: "H1", serial: nil, team: nil)
        try await store.enroll(host: "H1", serial: nil, team: "Kiosks")
        #expect(try await store.pendingCommands(limit: 10, now: Date()).count == 6)
        try await store.dropSupersededCommands()
        let left = try await store.pendingCommands(limit: 10, now: Date())
        #expect(left.map(\.type) == [.installProfile, .installProfile], "only the latest per profile")
    }

    @Test(arguments: BackendFactory.all)
    func assigningMakesTheDeliverySentAndTheHostDueForAPush(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend)
        let store = fixture.store
        try await store.enroll(host: "H1", serial: nil, team: "Workstations")
        try await store.enroll(host: "H2", serial: nil, team: "Workstations")
        try await store.updatePush(host: "H1", token: "aa11", pushMagic: "magic-1", topic: "t")
        try await fixture.ready()
        #expect(try await store.status().hostProfiles[.sent] == 4)
        #expect(try await store.pendingCommands(limit: 10, now: Date()) == [], "assigned commands are not pending")
        let queued = try await store.queuedCommands(host: "H1")
        #expect(queued.allSatisfy { $0.commandUUID != nil && $0.token != nil })
        // H2 has no push token: there is nothing to push to, and it is let go.
        #expect(try await store.pushesDue(limit: 10, now: Date(), lifetime: 60) == [PushTarget(host: "H1", token: "aa11", pushMagic: "magic-1")])
        try await store.pushesDone(hosts: ["H1"], retrying: [])
        #expect(try await store.pushesDue(limit: 10, now: Date(), lifetime: 60) == [], "one push per host per batch of commands")
        try await store.enroll(host: "H1", serial: nil, team: "Kiosks")
        try await fixture.ready()
        try await store.markPushStale(host: "H1")
        #expect(try await store.pushesDue(limit: 10, now: Date(), lifetime: 60) == [], "a stale token is not pushed to")
    }

    @Test(arguments: BackendFactory.all)
    func aBackoffHoldsACommandBackUntilItsTime(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend)
        let store = fixture.store
        try await store.enroll(host: "H1", serial: nil, team: "Workstations")
        let identifiers = try await fixture.ready()
        let wifi = try await fixture.profileUUID("Workstations", "com.example.wifi")
        let now = Date()
        _ = try await store.consumeToken(try #require(identifiers[wifi]), now: now)
        let decision = try await store.tokenSpent(
            identifiers[wifi]!, reason: "CA down", policy: RedeliveryPolicy(maximumRedeliveries: 3, backoff: 30), now: now)
        #expect(decision == .redeliver(notBefore: now.addingTimeInterval(30), detail: "CA down"))
        #expect(try await store.pendingCommands(limit: 10, now: now) == [])
        #expect(try await store.pendingCommands(limit: 10, now: now.addingTimeInterval(31)).map(\.profile) == [wifi])
    }

    @Test(arguments: BackendFactory.all)
    func aFailedDeliveryDropsItsCommandAndSaysWhy(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend)
        let store = fixture.store
        try await store.enroll(host: "H1", serial: nil, team: "Workstations")
        let command = try #require(try await store.pendingCommands(limit: 1, now: Date()).first)
        try await store.failDelivery(command, detail: "the profile no longer exists")
        #expect(try await store.pendingCommands(limit: 10, now: Date()).count == 1)
        #expect(try await store.hostObservations().failed.map(\.detail) == ["the profile no longer exists"])
    }

    @Test(arguments: BackendFactory.all)
    func profileListsAreQueuedForEnrolledHostsOncePerInterval(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend)
        let store = fixture.store
        try await store.enroll(host: "H1", serial: nil, team: "Workstations")
        try await store.enroll(host: "H2", serial: nil, team: "Workstations")
        try await store.updatePush(host: "H1", token: "aa11", pushMagic: "m", topic: "t")
        let later = Date().addingTimeInterval(3600)
        #expect(try await store.queueProfileLists(before: later, limit: 10) == 1, "only a host with a push token")
        #expect(try await store.queueProfileLists(before: later, limit: 10) == 0, "one outstanding at a time")
        let kinds = try await store.queuedCommands(host: "H1").map(\.type)
        #expect(kinds == [.installProfile, .installProfile, .profileList, .certificateList])
    }

    @Test(arguments: BackendFactory.all)
    func twoServersClaimDisjointBatchesAndADeadOnesClaimExpires(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend)
        let (one, two) = (fixture.store, try await fixture.replica())
        for index in 0..<40 { try await one.enroll(host: "H\(index)", serial: nil, team: "Workstations") }
        let queued = Set(try await one.pendingCommands(limit: 1000, now: Date()).map(\.id))
        #expect(queued.count == 80)
        // Each takes a batch (so both take part, however the two tasks are scheduled), then
        // both claim at once, in small batches, until nothing is left.
        let oneFirst = try await one.claimCommands(limit: 7, now: Date(), lifetime: 60).map(\.id)
        let twoFirst = try await two.claimCommands(limit: 7, now: Date(), lifetime: 60).map(\.id)
        func drain(_ store: any Backend) async throws -> [Int64] {
            var ids: [Int64] = []
            while case let batch = try await store.claimCommands(limit: 7, now: Date(), lifetime: 60), !batch.isEmpty {
                ids += batch.map(\.id)
            }
            return ids
        }
        async let first = drain(one)
        async let second = drain(two)
        let (a, b) = try await (oneFirst + first, twoFirst + second)
        #expect(Set(a).isDisjoint(with: b), "no command is handed to two servers")
        #expect(Set(a).union(b) == queued)
        #expect(!a.isEmpty && !b.isEmpty, "both took part")

        // A server that dies holding a claim: the others skip its commands until it expires.
        let later = Date().addingTimeInterval(61)
        let dead = try await one.claimCommands(limit: 5, now: later, lifetime: 60)
        #expect(dead.count == 5)
        #expect(try await two.claimCommands(limit: 1000, now: later.addingTimeInterval(1), lifetime: 60).count == 75)
        let orphaned = try await two.claimCommands(limit: 1000, now: later.addingTimeInterval(61), lifetime: 60)
        #expect(Set(orphaned.map(\.id)).isSuperset(of: dead.map(\.id)))

        // Assigned by one server, a command is not assigned again by another.
        let command = try #require(orphaned.first)
        let assign = { (uuid: String) in
            AssignedCommand(id: command.id, host: command.host, profile: command.profile, commandUUID: uuid, token: nil, certificateAuthority: nil)
        }
        try await two.recordAssigned([assign("first-uuid")], tokenLifetime: 60)
        try await one.recordAssigned([assign("second-uuid")], tokenLifetime: 60)
        let uuids = try await one.queuedCommands(host: command.host).filter { $0.profile == command.profile }.compactMap(\.commandUUID)
        #expect(uuids == ["first-uuid"])
    }

    @Test(arguments: BackendFactory.all)
    func eachDueHostIsPushedByOneServer(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend)
        let (one, two) = (fixture.store, try await fixture.replica())
        for index in 0..<30 {
            try await one.enroll(host: "H\(index)", serial: nil, team: "Workstations")
            try await one.updatePush(host: "H\(index)", token: "aa\(index)", pushMagic: "m", topic: "t")
        }
        try await fixture.ready()
        async let first = one.pushesDue(limit: 20, now: Date(), lifetime: 60)
        async let second = two.pushesDue(limit: 20, now: Date(), lifetime: 60)
        let (a, b) = try await (first, second)
        #expect(Set(a.map(\.host)).isDisjoint(with: b.map(\.host)))
        #expect(a.count + b.count == 30)
        // APNs asked one host to wait: its claim goes, it stays due; the pushed are done.
        try await one.pushesDone(hosts: a.dropFirst().map(\.host), retrying: [a[0].host])
        try await two.pushesDone(hosts: b.map(\.host), retrying: [])
        #expect(try await two.pushesDue(limit: 20, now: Date(), lifetime: 60).map(\.host) == [a[0].host])
    }
}
