import Foundation
import SCEPOpsCore
import SCEPOpsStore
import SCEPOpsTestSupport
import Testing

/// StateTransfer: a state with hosts, deliveries, tokens, identities and history copies
/// between any two backends value for value, and only into an empty one.
@Suite("Store conformance: transfer")
struct TransferConformanceTests {
    static var pairs: [(BackendFactory, BackendFactory)] {
        BackendFactory.all.flatMap { from in BackendFactory.all.map { (from, $0) } }
    }

    @Test(arguments: pairs)
    func aBusyStateCopiesValueForValue(_ from: BackendFactory, _ to: BackendFactory) async throws {
        let source = try await StoreFixture(from)
        let store = source.store
        _ = try await store.authenticate(host: "H1", serial: "S1", team: "Workstations", identity: "id-1", now: Date())
        try await store.updatePush(host: "H1", token: "aa", pushMagic: "m", topic: "t")
        try await store.enroll(host: "H2", serial: nil, team: "Kiosks")
        try await source.ready()
        _ = try await store.report(host: "H1", commandUUID: nil, result: .idle)
        _ = try await store.queueProfileLists(before: Date().addingTimeInterval(60), limit: 10)
        var environment = ValidRepo.environment
        environment["VPN_CHALLENGE"] = "rotated"
        try await source.apply(ValidRepo.files, environment: environment)
        let snapshot = try await store.snapshot()
        #expect(snapshot.revision == 2)
        #expect(snapshot.counts["apply"] == 2 && snapshot.counts["proxy_token"] == 4 && snapshot.counts["device_identity"] == 1)

        let target = try await StoreFixture(to, applied: nil)
        try await target.store.restore(snapshot)
        let copied = try await target.store.snapshot()
        for table in StateSnapshot.tables {
            // Each backend reads rows in its own order; every row is unique (its key).
            #expect(Set(copied.rows[table.name] ?? []) == Set(snapshot.rows[table.name] ?? []), "\(table.name)")
        }
        #expect(copied.revision == 2)
        // The copy is a working state: it plans to nothing and serves its hosts.
        let plan = Planner(secretDigest: target.box.digest).plan(
            PlanningFixtures.desired(ValidRepo.files, environment: environment), against: try await target.store.currentState())
        #expect(plan.changes == [])
        #expect(try await target.store.isBound(host: "H1", identity: "id-1"))
        #expect(try await target.store.challenge(of: "VPN")?.revealed == "rotated")
        try await target.store.enroll(host: "H3", serial: nil, team: "Kiosks")
        try await target.apply(ValidRepo.files)
        #expect(try await target.store.applies().map(\.id) == [1, 2, 3], "ids go on after the copied ones")

        await #expect {
            try await target.store.restore(snapshot)
        } throws: { ($0 as? StoreError)?.message.contains("is not empty") == true }
    }
}
