import SCEPOpsCore
import SCEPOpsTestSupport
import Testing

/// The planner on values alone: every CA-name case of docs/contract.md §2 and the usual changes.
@Suite("Planner")
struct PlannerTests {
    let planner = Planner(secretDigest: PlanningFixtures.digest)
    let hosts = ["Workstations": 40, "Kiosks": 7]

    private func plan(from before: [String: String], to after: [String: String], environment: [String: String] = ValidRepo.environment)
        -> Plan
    {
        let current = PlanningFixtures.applied(PlanningFixtures.desired(before), hosts: hosts)
        return planner.plan(PlanningFixtures.desired(after, environment: environment), against: current)
    }

    private func summary(_ plan: Plan) -> [String] {
        plan.changes.map { "\($0.order) \($0.action.rawValue) \($0.kind.rawValue) \($0.name)" }
    }

    @Test func anIdenticalReapplyHasNoChanges() {
        let result = plan(from: ValidRepo.files, to: ValidRepo.files)
        #expect(result.changes == [])
        #expect(result.unchanged == [.certificateAuthority: 2, .team: 2, .profile: 4])
    }

    @Test func theFirstApplyCreatesCAsThenTeamsThenProfiles() {
        let result = planner.plan(PlanningFixtures.desired(ValidRepo.files), against: .empty)
        #expect(summary(result) == [
            "1 create certificate_authority VPN", "2 create certificate_authority WIFI",
            "3 create team Kiosks", "4 create team Workstations",
            "5 create profile Kiosks/com.example.vpn", "6 create profile Kiosks/com.example.wifi",
            "7 create profile Workstations/com.example.vpn", "8 create profile Workstations/com.example.wifi",
        ])
    }

    @Test func aURLChangeIsAnUpdateThatRedeliversNothing() {
        var after = ValidRepo.files
        after["certificate_authorities/wifi.yml"] = ValidRepo.wifiCA.replacingOccurrences(
            of: "scep.example.com", with: "scep2.example.com")
        let result = plan(from: ValidRepo.files, to: after)
        #expect(summary(result) == ["1 update certificate_authority WIFI"])
        #expect(result.changes[0].fields == [
            FieldChange(path: "url", before: "https://scep.example.com/scep", after: "https://scep2.example.com/scep")
        ])
        #expect(result.changes[0].hostsAffected == 0)
    }

    @Test func aChallengeChangeIsSensitiveAndCountsTheHosts() {
        var environment = ValidRepo.environment
        environment["WIFI_CHALLENGE"] = "a-new-wifi-challenge"
        let result = plan(from: ValidRepo.files, to: ValidRepo.files, environment: environment)
        #expect(summary(result) == ["1 update certificate_authority WIFI"])
        let change = result.changes[0]
        #expect(change.fields == [FieldChange(path: "challenge", before: nil, after: nil, sensitive: true)])
        #expect(change.hostsAffected == 47)
        #expect(change.reason?.contains("2 profile(s)") == true)
    }

    @Test func anEnrollSecretChangeIsSensitive() {
        var environment = ValidRepo.environment
        environment["KIOSK_SECRET"] = "another-kiosk-secret"
        let result = plan(from: ValidRepo.files, to: ValidRepo.files, environment: environment)
        #expect(summary(result) == ["1 update team Kiosks"])
        #expect(result.changes[0].fields.map(\.sensitive) == [true])
    }

    @Test func aRenameWithTheProfilesRewrittenIsOrderedByTheRule() {
        var after = ValidRepo.files
        after["certificate_authorities/wifi.yml"] = ValidRepo.wifiCA.replacingOccurrences(of: "name: WIFI", with: "name: WIFI_2026")
        after["profiles/wifi.mobileconfig"] = ValidRepo.profile(
            challenge: "$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_WIFI_2026", url: "$FLEET_VAR_CUSTOM_SCEP_PROXY_URL_WIFI_2026")
        let result = plan(from: ValidRepo.files, to: after)
        #expect(summary(result) == [
            "1 delete profile Kiosks/com.example.wifi", "2 delete profile Workstations/com.example.wifi",
            "3 replace certificate_authority WIFI_2026",
            "4 create profile Kiosks/com.example.wifi", "5 create profile Workstations/com.example.wifi",
        ])
        let replace = result.changes[2]
        #expect(replace.previousName == "WIFI")
        #expect(replace.fields.first == FieldChange(path: "name", before: "WIFI", after: "WIFI_2026"))
        #expect(result.changes[1].hostsAffected == 40)
    }

    @Test func aRenameWithNewProfileFilesDeletesTheOldOnesFirst() {
        var after = ValidRepo.files
        after["certificate_authorities/wifi.yml"] = ValidRepo.wifiCA.replacingOccurrences(of: "name: WIFI", with: "name: CORP")
        after["profiles/wifi.mobileconfig"] = nil
        after["profiles/corp.mobileconfig"] = ValidRepo.profile(
            challenge: "$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_CORP", url: "$FLEET_VAR_CUSTOM_SCEP_PROXY_URL_CORP",
            identifier: "com.example.corp")
        after["teams/workstations.yml"] = ValidRepo.workstations.replacingOccurrences(of: "wifi.mobileconfig", with: "corp.mobileconfig")
        let result = plan(from: ValidRepo.files, to: after)
        #expect(summary(result) == [
            "1 delete profile Kiosks/com.example.wifi", "2 delete profile Workstations/com.example.wifi",
            "3 replace certificate_authority CORP",
            "4 create profile Kiosks/com.example.corp", "5 create profile Workstations/com.example.corp",
        ])
    }

    @Test func aRenameWhileAProfileStillUsesTheOldNameIsAnErrorWithTheSteps() {
        var after = ValidRepo.files
        after["certificate_authorities/wifi.yml"] = ValidRepo.wifiCA.replacingOccurrences(of: "name: WIFI", with: "name: WIFI_2026")
        let (config, result) = PlanningFixtures.load(after)
        #expect(result.state == nil)
        let current = PlanningFixtures.applied(PlanningFixtures.desired(ValidRepo.files), hosts: hosts)
        let violations = CANameRule.violations(config, current: current)
        #expect(violations.count == 1)
        let error = violations[0]
        #expect(error.code == .caInUse)
        #expect(error.file == "certificate_authorities/wifi.yml")
        #expect(error.position?.line == 1)
        #expect(error.message.contains("renamed to \"WIFI_2026\""))
        #expect(error.message.contains("profiles/wifi.mobileconfig"))
        #expect(error.message.contains("1. remove every profile that uses \"WIFI\""))
        #expect(error.message.contains("2. delete \"WIFI\" and create \"WIFI_2026\""))
        #expect(error.message.contains("3. install profiles that use \"WIFI_2026\""))
    }

    @Test func deletingACAInUseIsAnError() {
        var after = ValidRepo.files
        after["certificate_authorities/vpn.yml"] = nil
        let (config, result) = PlanningFixtures.load(after)
        #expect(result.state == nil)
        let current = PlanningFixtures.applied(PlanningFixtures.desired(ValidRepo.files))
        let violations = CANameRule.violations(config, current: current)
        #expect(violations.map(\.code) == [.caInUse])
        #expect(violations[0].message.contains("\"VPN\" is deleted"))
        #expect(violations[0].message.contains("profiles/vpn/vpn.mobileconfig"))
        // Nothing to say when the state never had the CA.
        #expect(CANameRule.violations(config, current: .empty) == [])
    }

    @Test func deletingACAAndItsProfilesTogetherIsOrdered() {
        var after = ValidRepo.files
        after["certificate_authorities/vpn.yml"] = nil
        after["profiles/vpn/vpn.mobileconfig"] = nil
        after["teams/workstations.yml"] = ValidRepo.workstations.replacingOccurrences(of: "  - profiles/vpn/*.mobileconfig\n", with: "")
        let result = plan(from: ValidRepo.files, to: after)
        #expect(summary(result) == [
            "1 delete profile Kiosks/com.example.vpn", "2 delete profile Workstations/com.example.vpn",
            "3 delete certificate_authority VPN",
        ])
        #expect(result.changes.map(\.hostsAffected) == [7, 40, 0])
    }

    @Test func aProfileChangeIsDiffedByPayloadAndKey() {
        var after = ValidRepo.files
        after["profiles/wifi.mobileconfig"] = ValidRepo.profile().replacingOccurrences(
            of: "<string>OU</string>", with: "<string>CN</string>")
        let result = plan(from: ValidRepo.files, to: after)
        #expect(summary(result) == ["1 update profile Kiosks/com.example.wifi", "2 update profile Workstations/com.example.wifi"])
        #expect(result.changes[0].fields == [
            FieldChange(path: "payload com.example.wifi.scep: PayloadContent.Subject[0][0][0]", before: "\"OU\"", after: "\"CN\"")
        ])
        #expect(result.changes[0].reason == nil)
    }

    @Test func aPayloadUUIDOnlyChangeIsSaidSo() {
        var after = ValidRepo.files
        after["profiles/wifi.mobileconfig"] = ValidRepo.profile().replacingOccurrences(
            of: "5A3C3D0E-3F7B-4C55-8F0B-2E6C1D7A9B42", with: "11111111-3F7B-4C55-8F0B-2E6C1D7A9B42")
        let result = plan(from: ValidRepo.files, to: after)
        #expect(result.changes.map(\.reason) == ["only PayloadUUID values changed", "only PayloadUUID values changed"])
        #expect(result.changes[0].fields.map(\.path) == ["PayloadUUID"])
    }

    @Test func removingATeamRemovesItsProfilesFirst() {
        var after = ValidRepo.files
        after["teams/kiosks.yml"] = nil
        let result = plan(from: ValidRepo.files, to: after)
        #expect(summary(result) == [
            "1 delete profile Kiosks/com.example.vpn", "2 delete profile Kiosks/com.example.wifi", "3 delete team Kiosks",
        ])
        #expect(result.changes[2].hostsAffected == 7)
    }
}
