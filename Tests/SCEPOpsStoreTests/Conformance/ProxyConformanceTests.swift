import Foundation
import SCEPOpsCore
import SCEPOpsStore
import SCEPOpsTestSupport
import Testing

/// ProxyStore, the SCEP proxy's role, on every backend.
@Suite("Store conformance: proxy")
struct ProxyConformanceTests {
    private func refusal<T>(_ result: Result<T, ProxyRefusal>) -> ProxyRefusal? {
        if case .failure(let refusal) = result { refusal } else { nil }
    }

    @Test(arguments: BackendFactory.all)
    func anInFlightDeliveryFindsItsCAAndNothingElseDoes(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend, applied: nil)
        // The certificate the apply recorded comes back with the URL: the proxy's cached
        // answers belong to both.
        let recorded = CACertificate(
            der: [0x30, 0x00], summary: CACertificateSummary(subject: "CN=Wi-Fi CA", fingerprint: "ab12", notAfter: "2030-01-01T00:00:00Z"))
        try await fixture.apply(ValidRepo.files, certificates: ["WIFI": recorded])
        let store = fixture.store
        try await store.enroll(host: "H1", serial: nil, team: "Workstations")
        let wifi = try await fixture.profileUUID("Workstations", "com.example.wifi")
        let pending = ProxyIdentifier(host: "H1", profile: wifi, certificateAuthority: "WIFI", token: "t")
        #expect(refusal(try await store.proxyUpstream(pending)) == .notInFlight, "not rendered yet")
        let identifier = try #require(try await fixture.ready()[wifi])
        #expect(
            try await store.proxyUpstream(identifier).get()
                == ProxyUpstream(url: "https://scep.example.com/scep", certificateFingerprint: "ab12"))
        var otherCA = identifier
        otherCA.certificateAuthority = "VPN"
        #expect(refusal(try await store.proxyUpstream(otherCA)) == .unknownIdentifier, "the profile does not use that CA")
        var otherHost = identifier
        otherHost.host = "H9"
        #expect(refusal(try await store.proxyUpstream(otherHost)) == .unknownIdentifier)
        try await fixture.acknowledgeAll(host: "H1")
        #expect(refusal(try await store.proxyUpstream(identifier)) == .notInFlight, "acknowledged: the URL is spent")
    }

    @Test(arguments: BackendFactory.all)
    func aTokenIsConsumedOnceAndAForgedOneChangesNothing(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend)
        let store = fixture.store
        try await store.enroll(host: "H1", serial: nil, team: "Workstations")
        try await store.enroll(host: "H2", serial: nil, team: "Workstations")
        let wifi = try await fixture.profileUUID("Workstations", "com.example.wifi")
        let identifiers = try await fixture.ready()
        // One host's delivery (the fixture keeps one identifier per profile).
        let genuine = try #require(identifiers[wifi])
        var forged = genuine
        forged.token = "guessed"
        #expect(refusal(try await store.consumeToken(forged, now: Date())) == .tokenRejected)
        var borrowed = genuine
        borrowed.host = genuine.host == "H1" ? "H2" : "H1"
        #expect(refusal(try await store.consumeToken(borrowed, now: Date())) == .tokenRejected, "another host's delivery")
        #expect(refusal(try await store.consumeToken(genuine, now: Date())) == nil)
        #expect(refusal(try await store.consumeToken(genuine, now: Date())) == .tokenRejected, "never twice")
        #expect(try await store.status().hostProfiles[.sent] == 4, "no refusal touched a delivery")
    }

    @Test(arguments: BackendFactory.all)
    func anExpiredTokenIsToldApart(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend)
        let store = fixture.store
        try await store.enroll(host: "H1", serial: nil, team: "Workstations")
        let wifi = try await fixture.profileUUID("Workstations", "com.example.wifi")
        let identifier = try #require(try await fixture.ready(tokenLifetime: 60)[wifi])
        #expect(refusal(try await store.consumeToken(identifier, now: Date().addingTimeInterval(120))) == .tokenExpired)
    }

    @Test(arguments: BackendFactory.all)
    func aSpentTokenRedeliversWithANewCommandThenFails(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend)
        let store = fixture.store
        try await store.enroll(host: "H1", serial: nil, team: "Workstations")
        let wifi = try await fixture.profileUUID("Workstations", "com.example.wifi")
        let policy = RedeliveryPolicy(maximumRedeliveries: 1, backoff: 0)
        let first = try #require(try await fixture.ready()[wifi])
        let old = try #require(try await store.queuedCommands(host: "H1").first { $0.profile == wifi }?.commandUUID)
        _ = try await store.consumeToken(first, now: Date())
        #expect(try await store.tokenSpent(first, reason: "CA down", policy: policy, now: Date()) != nil)
        #expect(try await fixture.delivery("H1", "Workstations", "com.example.wifi")[.pending] == 1)
        #expect(try await store.tokenSpent(first, reason: "CA down", policy: policy, now: Date()) == nil, "no longer in flight")
        // The late answer to the closed command changes nothing.
        _ = try await store.report(host: "H1", commandUUID: old, result: .acknowledged)
        #expect(try await fixture.delivery("H1", "Workstations", "com.example.wifi")[.pending] == 1)
        let second = try #require(try await fixture.ready()[wifi])
        #expect(second.token != first.token)
        _ = try await store.consumeToken(second, now: Date())
        #expect(try await store.tokenSpent(second, reason: "CA down", policy: policy, now: Date()) == .fail(
            detail: "CA down; given up after 1 re-deliveries with fresh tokens"))
        #expect(try await fixture.delivery("H1", "Workstations", "com.example.wifi")[.failed] == 1)
    }

    /// A device's Error for the install of a certificate profile (the CA failed, or a
    /// replica died mid-exchange and a gateway answered 502) re-delivers with a fresh token,
    /// whether or not the old one was spent, within the bounded re-deliveries; the old token
    /// is no longer accepted.
    @Test(arguments: BackendFactory.all)
    func anInstallErrorOfACertificateProfileRedelivers(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend)
        let store = fixture.store
        try await store.enroll(host: "H1", serial: nil, team: "Workstations")
        let wifi = try await fixture.profileUUID("Workstations", "com.example.wifi")
        let vpn = try await fixture.profileUUID("Workstations", "com.example.vpn")
        let identifiers = try await fixture.ready()
        let queued = try await store.queuedCommands(host: "H1")
        let wifiCommand = try #require(queued.first { $0.profile == wifi }?.commandUUID)
        let vpnCommand = try #require(queued.first { $0.profile == vpn }?.commandUUID)
        _ = try await store.consumeToken(try #require(identifiers[wifi]), now: Date())
        let policy = RedeliveryPolicy(maximumRedeliveries: 1, backoff: 0)
        _ = try await store.report(host: "H1", commandUUID: wifiCommand, result: .error(detail: "SCEP: 502"), policy: policy)
        _ = try await store.report(host: "H1", commandUUID: vpnCommand, result: .error(detail: "SCEP: 502"), policy: policy)
        #expect(try await fixture.delivery("H1", "Workstations", "com.example.wifi")[.pending] == 1)
        #expect(try await fixture.delivery("H1", "Workstations", "com.example.vpn")[.pending] == 1)
        #expect(refusal(try await store.consumeToken(try #require(identifiers[vpn]), now: Date())) == .tokenRejected, "the old token")
        let again = try await fixture.ready()
        #expect(again[wifi]?.token != nil && again[wifi]?.token != identifiers[wifi]?.token, "a fresh token")
        let requeued = try await store.queuedCommands(host: "H1")
        #expect(requeued.first { $0.profile == wifi }?.commandUUID != wifiCommand, "a fresh command")
        // The bound: the next error fails the delivery.
        let vpnAgain = try #require(requeued.first { $0.profile == vpn }?.commandUUID)
        _ = try await store.report(host: "H1", commandUUID: vpnAgain, result: .error(detail: "SCEP: 502"), policy: policy)
        #expect(try await fixture.delivery("H1", "Workstations", "com.example.vpn")[.failed] == 1)
    }
}
