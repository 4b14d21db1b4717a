import Foundation
import SCEPOpsCore
import SCEPOpsTestSupport
import Testing

/// The decisions the store backends record and never make: tested with values alone.
@Suite("Store decisions")
struct StoreDecisionTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let planner = Planner(secretDigest: PlanningFixtures.digest)

    private func deliveries(from: [String: String], fromEnvironment: [String: String] = ValidRepo.environment,
        to: [String: String], environment: [String: String] = ValidRepo.environment) -> [String]
    {
        let current = PlanningFixtures.applied(PlanningFixtures.desired(from, environment: fromEnvironment))
        let desired = PlanningFixtures.desired(to, environment: environment)
        let plan = planner.plan(desired, against: current)
        return HostCommandPlan.deliveries(for: plan, profiles: planner.profileInstances(desired)).map {
            "\($0.kind.rawValue) \($0.profile)"
        }
    }

    @Test func aFirstApplyInstallsEveryProfile() {
        let desired = PlanningFixtures.desired(ValidRepo.files)
        let plan = planner.plan(desired, against: .empty)
        #expect(HostCommandPlan.deliveries(for: plan, profiles: planner.profileInstances(desired)).map(\.profile.description) == [
            "Kiosks/com.example.vpn", "Kiosks/com.example.wifi", "Workstations/com.example.vpn", "Workstations/com.example.wifi",
        ])
    }

    @Test func aCARenameRemovesItsProfilesBeforeInstallingThemAgain() {
        var renamed = ValidRepo.files
        renamed["certificate_authorities/wifi.yml"] = ValidRepo.wifiCA.replacingOccurrences(of: "name: WIFI", with: "name: WIFI_2026")
        renamed["profiles/wifi.mobileconfig"] = ValidRepo.profile(
            challenge: "$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_WIFI_2026", url: "$FLEET_VAR_CUSTOM_SCEP_PROXY_URL_WIFI_2026")
        #expect(deliveries(from: ValidRepo.files, to: renamed) == [
            "RemoveProfile Kiosks/com.example.wifi", "RemoveProfile Workstations/com.example.wifi",
            "InstallProfile Kiosks/com.example.wifi", "InstallProfile Workstations/com.example.wifi",
        ])
    }

    @Test func aNewChallengeReinstallsWhatUsesTheCAAndNothingElse() {
        var environment = ValidRepo.environment
        environment["VPN_CHALLENGE"] = "rotated"
        #expect(deliveries(from: ValidRepo.files, to: ValidRepo.files, environment: environment) == [
            "InstallProfile Kiosks/com.example.vpn", "InstallProfile Workstations/com.example.vpn",
        ])
        // A new URL alone re-delivers nothing: the proxy follows it.
        var moved = ValidRepo.files
        moved["certificate_authorities/vpn.yml"] = ValidRepo.vpnCA.replacingOccurrences(of: "2016", with: "2017")
        #expect(deliveries(from: ValidRepo.files, to: moved) == [])
    }

    @Test func aDeletedProfileIsRemovedAndTeamChangesAloneSendNothing() {
        var fewer = ValidRepo.files
        fewer["teams/kiosks.yml"] = ValidRepo.kiosks.replacingOccurrences(of: "**/*.mobileconfig", with: "wifi.mobileconfig")
        #expect(deliveries(from: ValidRepo.files, to: fewer) == ["RemoveProfile Kiosks/com.example.vpn"])
        var environment = ValidRepo.environment
        environment["KIOSK_SECRET"] = "rotated"
        #expect(deliveries(from: ValidRepo.files, to: ValidRepo.files, environment: environment) == [])
    }

    @Test func teamMoves() {
        let profiles = ["A": ["b.two", "a.one"], "B": ["c.three"]]
        func text(_ from: String?, _ to: String?) -> [String] {
            TeamMove.deliveries(from: from, to: to, profiles: profiles).map { "\($0.kind.rawValue) \($0.profile)" }
        }
        #expect(text(nil, "A") == ["InstallProfile A/a.one", "InstallProfile A/b.two"])
        #expect(text("A", "A") == [])
        #expect(text("A", "B") == ["RemoveProfile A/a.one", "RemoveProfile A/b.two", "InstallProfile B/c.three"])
        #expect(text("B", nil) == ["RemoveProfile B/c.three"])
        #expect(text(nil, "Empty") == [])
    }

    @Test func profileListReconciliation() {
        typealias Delivery = ProfileListReconciliation.Delivery<String>
        func delivery(_ id: String, _ status: DeliveryStatus, acknowledged: Bool = true, retries: Int = 0,
            operation: DeliveryOperation = .install) -> Delivery
        {
            Delivery(id: id, identifier: "com.\(id)", state: .init(operation: operation, status: status, acknowledged: acknowledged), retries: retries)
        }
        let result = ProfileListReconciliation.reconcile(
            [
                delivery("listed", .sent), delivery("again", .verified), delivery("missing", .sent, retries: 1),
                delivery("exhausted", .verified, retries: 3), delivery("onitsway", .sent, acknowledged: false),
                delivery("queued", .pending), delivery("broken", .failed), delivery("leaving", .sent, operation: .remove),
            ],
            installed: ["com.listed", "com.again", "com.onitsway", "com.leaving", "com.stranger", "com.alien"])
        #expect(result.outcomes.map(\.id) == ["listed", "again", "missing", "exhausted"])
        #expect(result.outcomes.map(\.outcome) == [
            .verified, .verified, .redeliver(detail: "missing from the device's profile list"),
            .fail(detail: "the profile is missing from the device's profile list after 3 re-deliveries"),
        ])
        // Only what the state never gave the host is unexpected; a removal on its way is not.
        #expect(result.unexpected == ["com.alien", "com.stranger"])
    }

    private func refusal(_ result: Result<Void, ProxyRefusal>) -> ProxyRefusal? {
        if case .failure(let refusal) = result { refusal } else { nil }
    }

    @Test func proxyAdmissionAndTokens() {
        #expect(refusal(ProxyRefusal.admit(.init(operation: .install, status: .sent, acknowledged: false))) == nil)
        #expect(refusal(ProxyRefusal.admit(.init(operation: .install, status: .sent, acknowledged: true))) == .notInFlight)
        #expect(refusal(ProxyRefusal.admit(.init(operation: .install, status: .verified, acknowledged: false))) == .notInFlight)
        #expect(refusal(ProxyRefusal.admit(.init(operation: .remove, status: .sent, acknowledged: false))) == .notInFlight)
        #expect(refusal(ProxyRefusal.consumed(expiresAt: nil, now: now)) == .tokenRejected)
        #expect(refusal(ProxyRefusal.consumed(expiresAt: now, now: now)) == .tokenExpired)
        #expect(refusal(ProxyRefusal.consumed(expiresAt: now.addingTimeInterval(1), now: now)) == nil)
    }

    @Test func idlePollsWriteOnlyWhenStaleOrBusy() {
        #expect(LastSeen.idlePollWrites(lastSeen: nil, hasReadyCommand: false, now: now))
        #expect(!LastSeen.idlePollWrites(lastSeen: now.addingTimeInterval(-59), hasReadyCommand: false, now: now))
        #expect(LastSeen.idlePollWrites(lastSeen: now.addingTimeInterval(-60), hasReadyCommand: false, now: now))
        #expect(LastSeen.idlePollWrites(lastSeen: now, hasReadyCommand: true, now: now))
    }

    @Test func closedSetsKeepTheirStoredNames() {
        #expect(DeliveryStatus.allCases.map(\.rawValue) == ["pending", "sent", "verified", "failed"])
        #expect(OutboxStatus.allCases.map(\.rawValue) == ["queued", "sent", "acknowledged", "error"])
        #expect(DeliveryOperation(.removeProfile) == .remove)
        #expect(DeliveryOperation(.installProfile) == .install)
        #expect(RedeliveryPolicy.Decision.redeliver(notBefore: now, detail: "r").status == .pending)
        #expect(RedeliveryPolicy.Decision.fail(detail: "x").status == .failed)
    }
}
