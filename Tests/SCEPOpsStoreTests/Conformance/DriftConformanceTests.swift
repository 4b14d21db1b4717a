import Foundation
import SCEPOpsCore
import SCEPOpsStore
import SCEPOpsTestSupport
import Testing

/// DriftReader, on every backend.
@Suite("Store conformance: drift")
struct DriftConformanceTests {
    @Test(arguments: BackendFactory.all)
    func hostObservationsCoverEnrolledHostsAndTheirDeliveries(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend)
        let store = fixture.store
        try await store.enroll(host: "H1", serial: nil, team: "Kiosks")
        try await store.enroll(host: "H2", serial: nil, team: "Workstations")
        try await store.enroll(host: "GONE", serial: nil, team: "Workstations")
        try await store.checkOut(host: "GONE")
        let observations = try await store.hostObservations()
        #expect(observations.hosts.map(\.uuid).sorted() == ["H1", "H2"], "a checked-out host is not watched")
        #expect(observations.hosts.first { $0.uuid == "H1" }?.team == "Kiosks")
        #expect(observations.hosts.allSatisfy { $0.lastSeen == nil })
        #expect(observations.failed == [] && observations.missing == [] && observations.unexpected == [])
        // A removal outlives its profile row: the host's team names it.
        var fewer = ValidRepo.files
        fewer["teams/kiosks.yml"] = ValidRepo.kiosks.replacingOccurrences(of: "**/*.mobileconfig", with: "wifi.mobileconfig")
        try await fixture.apply(fewer)
        let removal = try #require(try await store.pendingCommands(limit: 10, now: Date()).last)
        try await store.failDelivery(removal, detail: "the device refused")
        #expect(try await store.hostObservations().failed.map(\.profile) == ["Kiosks/com.example.vpn"])
    }
}
