import Foundation
import SCEPOpsCore
import SCEPOpsStore
import SCEPOpsTestSupport
import Testing

/// CertificateList answers as renewal and `scepops certificates` read them, on every backend.
@Suite("Store conformance: certificates")
struct CertificateConformanceTests {
    func answer(_ fixture: StoreFixture, round: Int, _ certificates: [ReportedCertificate]) async throws {
        try await fixture.listCertificates(of: "H1", round: round, certificates)
    }

    func held(_ serial: String, profile: String, days: Double, from start: Date) -> ReportedCertificate {
        StoreFixture.certificate(serial, profile: profile, from: start, days: days)
    }

    @Test(arguments: BackendFactory.all)
    func eachCertificateIsMatchedToItsProfileAndTheNewestValidOneStands(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend)
        let store = fixture.store
        try await store.enroll(host: "H1", serial: "C02A", team: "Workstations")
        try await store.updatePush(host: "H1", token: "aa", pushMagic: "m", topic: "t")
        let wifi = try #require(try await store.status().profiles.first { $0.team == "Workstations" && $0.identifier == "com.example.wifi" })
        let start = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 60).rounded(.down) * 60 - 86_400)
        let identity = ReportedCertificate(subject: "CN=device identity", fingerprint: "fp-id", notAfter: "2030-01-01T00:00:00Z", isIdentity: true)
        try await answer(fixture, round: 0, [held("0A", profile: wifi.uuid, days: 365, from: start), identity,
            held("0B", profile: "not-a-profile-of-ours", days: 365, from: start)])

        var listed = try await store.certificates()
        #expect(listed.count == 3)
        let managed = try #require(listed.first { $0.serial == "0A" })
        #expect(managed.profile == "com.example.wifi" && managed.certificateAuthority == "WIFI" && managed.managed)
        #expect(managed.hostSerial == "C02A" && managed.team == "Workstations" && managed.hostUDID == "H1")
        #expect(managed.notBefore == start && managed.notAfter == start.addingTimeInterval(365 * 86_400))
        #expect(managed.renewal == RenewalProgress(), "it stands, with no renewal yet")
        #expect(listed.filter { !$0.managed }.map(\.subject).sorted() == ["CN=C02A,OU=fleet-not-a-profile-of-ours", "CN=device identity"])
        #expect(listed.filter { !$0.managed }.allSatisfy { $0.renewal == nil })

        // A renewed certificate beside the old one: the newer stands. Then a late answer with
        // only the old one lists it, but the recorded expiry does not move back.
        try await answer(fixture, round: 1, [held("0A", profile: wifi.uuid, days: 365, from: start),
            held("0C", profile: wifi.uuid, days: 365, from: start.addingTimeInterval(3600))])
        listed = try await store.certificates()
        #expect(listed.first { $0.serial == "0C" }?.renewal != nil && listed.first { $0.serial == "0A" }?.renewal == nil)
        try await answer(fixture, round: 2, [held("0A", profile: wifi.uuid, days: 365, from: start)])
        listed = try await store.certificates()
        #expect(listed.map(\.serial) == ["0A"], "what the host holds now")
        #expect(listed.first?.renewal == nil, "not the standing one: 0C's expiry is later")
        // The state copy carries the standing record.
        let copy = try await fixture.store.snapshot()
        #expect(copy.rows["host_profile_certificate"]?.count == 1)
    }

    @Test(arguments: BackendFactory.all)
    func anAcknowledgedCertificateProfileAsksForTheCertificateListOnce(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend)
        let store = fixture.store
        try await store.enroll(host: "H1", serial: nil, team: "Workstations")
        try await fixture.ready()
        var answered = try #require(try await store.report(host: "H1", commandUUID: nil, result: .idle).get())
        #expect(try await store.queuedCommands(host: "H1").allSatisfy { $0.type != .certificateList }, "none before an install")
        for _ in 0..<2 {
            #expect(answered.type == .installProfile)
            let next = try await store.report(host: "H1", commandUUID: answered.commandUUID, result: .acknowledged).get()
            #expect(try await store.queuedCommands(host: "H1").count { $0.type == .certificateList } == 1, "asked once")
            guard let next else { break }
            answered = next
        }
    }
}
