import Foundation
import SCEPOpsCore
import SCEPOpsStore
import SCEPOpsTestSupport
import Testing

/// `RenewalStore.renew`, on every backend: a due certificate's profile goes out again, a
/// newer certificate ends it renewed, failed attempts back off and end `failed`, and the
/// attempts are recorded.
@Suite("Store conformance: renewal")
struct RenewalConformanceTests {
    let start = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 60).rounded(.down) * 60 - 86_400)

    func list(_ fixture: StoreFixture, round: Int, _ certificates: [ReportedCertificate]) async throws {
        try await fixture.listCertificates(of: "H1", round: round, certificates, installed: ["com.example.wifi", "com.example.vpn"])
    }

    /// A certificate issued a day ago for two days: past half its validity, so due.
    func certificate(_ serial: String, _ profile: String, from: Date? = nil) -> ReportedCertificate {
        StoreFixture.certificate(serial, profile: profile, from: from ?? start, days: 2)
    }

    @Test(arguments: BackendFactory.all)
    func aDueCertificateIsRenewedAndAFailingOneEndsFailedAfterTheBoundedRetries(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend)
        let store = fixture.store
        try await store.enroll(host: "H1", serial: "C02A", team: "Workstations")
        try await store.updatePush(host: "H1", token: "aa", pushMagic: "m", topic: "t")
        let profiles = try await store.status().profiles.filter { $0.team == "Workstations" }
        let wifi = try #require(profiles.first { $0.identifier == "com.example.wifi" }?.uuid)
        let vpn = try #require(profiles.first { $0.identifier == "com.example.vpn" }?.uuid)
        try await list(fixture, round: 0, [certificate("0A", wifi), certificate("0B", vpn)])
        let policy = RenewalPolicy(maximumAttempts: 2, backoff: 60, attemptTimeout: 600)
        var now = Date()

        // Both due; one CA each, so both start, and both profiles are queued again.
        var pass = try await store.renew(now: now, policy: policy)
        #expect(pass == RenewalPassResult(started: 2))
        let queued = try await store.queuedCommands(host: "H1").filter { $0.type == .installProfile }.map(\.profile)
        #expect(queued.suffix(2).sorted() == [wifi, vpn].sorted())
        var listed = try await store.certificates()
        #expect(listed.allSatisfy { $0.renewal?.state == .inProgress && $0.renewal?.attempts == 1 }, "\(listed.map(\.renewal))")
        #expect(try await store.renew(now: now.addingTimeInterval(1), policy: policy) == RenewalPassResult(), "nothing more while in progress")

        // The Wi-Fi certificate comes back renewed; the VPN CA fails the delivery.
        let failing = try #require(try await store.pendingCommands(limit: 100, now: now).last { $0.profile == vpn })
        try await store.failDelivery(failing, detail: "the CA refused the request")
        try await list(fixture, round: 1, [certificate("0C", wifi, from: start.addingTimeInterval(86_400)), certificate("0B", vpn)])
        pass = try await store.renew(now: now.addingTimeInterval(2), policy: policy)
        #expect(pass == RenewalPassResult(renewed: 1, retrying: 1))
        listed = try await store.certificates()
        #expect(listed.first { $0.serial == "0C" }?.renewal?.state == .renewed)
        let retry = try #require(listed.first { $0.serial == "0B" }?.renewal)
        #expect(retry.state == .due && retry.retryAt == now.addingTimeInterval(62).rounded)

        // The retry waits out its backoff, starts, fails again: then the renewal is failed.
        #expect(try await store.renew(now: now.addingTimeInterval(30), policy: policy) == RenewalPassResult())
        now = now.addingTimeInterval(63)
        #expect(try await store.renew(now: now, policy: policy) == RenewalPassResult(started: 1))
        let again = try #require(try await store.pendingCommands(limit: 100, now: now).last { $0.profile == vpn })
        try await store.failDelivery(again, detail: "the CA refused the request")
        #expect(try await store.renew(now: now.addingTimeInterval(1), policy: policy) == RenewalPassResult(failed: 1))
        for hour in 1...3 {
            #expect(try await store.renew(now: now.addingTimeInterval(Double(hour) * 3600), policy: policy) == RenewalPassResult(), "no loop")
        }
        let failed = try #require(try await store.certificates().first { $0.serial == "0B" }?.renewal)
        #expect(failed.state == .failed && failed.attempts == 2)

        // Every attempt is on record, for both backends' copies.
        let attempts = try await store.snapshot().rows["renewal_attempt"] ?? []
        #expect(attempts.count == 3)
    }
}

/// The hourly limit is the fleet's: two servers' passes at once start no more than one.
extension RenewalConformanceTests {
    @Test(arguments: BackendFactory.all)
    func twoServersPassingAtOnceKeepOneCAsLimit(_ backend: BackendFactory) async throws {
        let fixture = try await StoreFixture(backend)
        let store = fixture.store
        let wifi = try await fixture.profileUUID("Workstations", "com.example.wifi")
        for (index, host) in ["H1", "H2", "H3"].enumerated() {
            try await store.enroll(host: host, serial: nil, team: "Workstations")
            try await store.updatePush(host: host, token: "t\(index)", pushMagic: "m", topic: "t")
        }
        // Each host lists a due Wi-Fi certificate (asked once for all three).
        _ = try await store.queueProfileLists(before: Date().addingTimeInterval(3600), limit: 10)
        try await fixture.ready()
        for (index, host) in ["H1", "H2", "H3"].enumerated() {
            let list = try #require(try await store.queuedCommands(host: host).last { $0.type == .certificateList }?.commandUUID)
            _ = try await store.report(host: host, commandUUID: list, result: .certificateList([certificate("0\(index)", wifi)]))
        }
        let other = try await fixture.replica()
        let policy = RenewalPolicy(maximumAttempts: 2, backoff: 60, attemptTimeout: 600)
        let now = Date()
        async let first = store.renew(now: now, policy: policy)
        async let second = other.renew(now: now, policy: policy)
        let started = try await first.started + second.started
        // No start yet: the pacer admits one, and the other pass sees it.
        #expect(started == 1, "\(started) started at once")
        let inProgress = try await store.certificates().filter { $0.renewal?.state == .inProgress }
        #expect(inProgress.count == 1)
    }
}

extension Date {
    /// To the whole second, as the state keeps times.
    var rounded: Date { Date(timeIntervalSince1970: timeIntervalSince1970.rounded(.down)) }
}
