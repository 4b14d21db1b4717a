import Foundation
import SCEPOpsCore
import SCEPOpsStore
import SCEPOpsTestSupport
import Testing

/// `HostStore.hosts`, on every backend: what `scepops hosts` lists.
@Suite("Store conformance: hosts")
struct HostConformanceTests {
    @Test(arguments: BackendFactory.all)
    func hostsListEveryHostWithItsDeliveriesByStatusInOneOrder(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend)
        let store = fixture.store
        #expect(try await store.hosts() == [])
        try await store.enroll(host: "H2", serial: "C02B", team: "Workstations")
        try await store.enroll(host: "H1", serial: "C02A", team: "Kiosks")
        try await store.enroll(host: "H3", serial: nil, team: "Kiosks")
        try await store.enroll(host: "GONE", serial: "C02Z", team: "Workstations")
        try await store.checkOut(host: "GONE")
        _ = try await store.report(host: "H2", commandUUID: nil, result: .idle)
        let failing = try #require(try await store.pendingCommands(limit: 100, now: Date()).first { $0.host == "H1" })
        try await store.failDelivery(failing, detail: "the device refused")

        let hosts = try await store.hosts()
        // By team, then serial (none first), then UDID; a checked-out host last, in no team.
        #expect(hosts.map(\.uuid) == ["H3", "H1", "H2", "GONE"])
        #expect(hosts.map(\.serial) == [nil, "C02A", "C02B", "C02Z"])
        #expect(hosts.map(\.team) == ["Kiosks", "Kiosks", "Workstations", nil])
        let one = try #require(hosts.first { $0.uuid == "H1" })
        #expect(one.deliveries[.failed] == 1 && one.deliveries[.pending] == 1, "two Kiosks profiles, one failed: \(one.deliveries)")
        #expect(hosts.first { $0.uuid == "H3" }?.deliveries == [.pending: 2])
        #expect(hosts.first { $0.uuid == "H2" }?.lastSeen != nil, "its check-in is recorded")
        #expect(hosts.filter { $0.uuid != "H2" }.allSatisfy { $0.lastSeen == nil })
        #expect(hosts.allSatisfy { abs($0.enrolledAt.timeIntervalSinceNow) < 60 })
        // Leaving its team removes what it had: the removals are its deliveries now.
        #expect(hosts.last?.deliveries.values.reduce(0, +) ?? 0 > 0)
    }
}
