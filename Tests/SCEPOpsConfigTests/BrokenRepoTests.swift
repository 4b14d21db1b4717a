import SCEPOpsConfig
import SCEPOpsCore
import SCEPOpsTestSupport
import Testing

/// One defect in an otherwise valid repo, and the diagnostic it must produce.
struct BrokenRepo: Sendable, CustomTestStringConvertible {
    var name: String
    var code: DiagnosticCode
    var file: String?
    var line: Int?
    /// Every error of the run has the expected code; most defects cause exactly one.
    var errorCount = 1
    var ref: String?
    var repoPath: String?
    var change: @Sendable (TempRepo) -> Void

    var testDescription: String { name }

    static let ca = "certificate_authorities/extra.yml"
    static let wifi = "certificate_authorities/wifi.yml"
    static let profile = "profiles/wifi.mobileconfig"
    static let team = "teams/workstations.yml"

    /// An unused extra CA file, so a bad name is the only defect.
    static func extraCA(name: String, url: String = "https://ca.example.com/scep", challenge: String = "x${VPN_CHALLENGE}")
        -> @Sendable (TempRepo) -> Void
    {
        { $0.write(ca, "name: \(name)\nurl: \(url)\nchallenge: \(challenge)\n") }
    }

    /// The Wi-Fi CA with a `renewal:` block after its three lines (so at line 4 on).
    static func wifiRenewal(_ block: String) -> @Sendable (TempRepo) -> Void {
        { $0.write(wifi, "name: WIFI\nurl: https://scep.example.com/scep\nchallenge: ${WIFI_CHALLENGE}\n" + block) }
    }

    static func wifiProfile(_ content: String) -> @Sendable (TempRepo) -> Void {
        { $0.write(profile, content) }
    }

    static func team(_ content: String) -> @Sendable (TempRepo) -> Void {
        { $0.write(team, content) }
    }

    static let all: [BrokenRepo] = [
        // YAML
        .init(name: "YAML syntax error", code: .yamlSyntax, file: ca, line: 3,
            change: { $0.write(ca, "name: EXTRA\nurl: [unclosed\nchallenge: x\n") }),
        .init(name: "wrong type", code: .wrongType, file: ca, line: 1, change: extraCA(name: "[A, B]")),
        .init(name: "unknown key", code: .unknownKey, file: ca, line: 3,
            change: { $0.write(ca, "name: EXTRA\nurl: https://ca.example.com/scep\nchalenge: x$VPN_CHALLENGE\n") }),
        .init(name: "missing key", code: .missingKey, file: ca, line: 1,
            change: { $0.write(ca, "name: EXTRA\nchallenge: ${VPN_CHALLENGE}\n") }),
        .init(name: "duplicate key", code: .duplicateKey, file: ca, line: 1,
            change: { $0.write(ca, "name: EXTRA\nname: OTHER\nurl: https://ca.example.com/scep\nchallenge: ${VPN_CHALLENGE}\n") }),
        .init(name: "top level is a list", code: .wrongType, file: ca, line: 1,
            change: { $0.write(ca, "- name: EXTRA\n") }),
        .init(name: "YAML that is not UTF-8", code: .notUTF8, file: ca, line: nil,
            change: { $0.write(ca, Data([0x6E, 0x61, 0x6D, 0x65, 0x3A, 0x20, 0xFF, 0xFE, 0x0A])) }),

        // CA names
        .init(name: "CA name with a space", code: .caNameInvalid, file: ca, line: 1, change: extraCA(name: "\"EXTRA CA\"")),
        .init(name: "CA name with a dash", code: .caNameInvalid, file: ca, line: 1, change: extraCA(name: "EXTRA-CA")),
        .init(name: "non-ASCII CA name", code: .caNameInvalid, file: ca, line: 1, change: extraCA(name: "ÉXTRA")),
        .init(name: "CA name of 256 bytes", code: .caNameTooLong, file: ca, line: 1,
            change: extraCA(name: String(repeating: "A", count: 256))),
        .init(name: "empty CA name", code: .caNameEmpty, file: ca, line: 1, change: extraCA(name: "\"\"")),
        .init(name: "same CA name in two files", code: .caNameDuplicate, file: "certificate_authorities/zz.yml", line: 1,
            change: { $0.write("certificate_authorities/zz.yml", ValidRepo.wifiCA) }),

        // URLs
        .init(name: "ftp URL", code: .caURLScheme, file: ca, line: 2,
            change: extraCA(name: "EXTRA", url: "ftp://ca.example.com/scep")),
        .init(name: "relative URL", code: .caURLInvalid, file: ca, line: 2, change: extraCA(name: "EXTRA", url: "/scep")),

        // Secrets
        .init(name: "unset environment variable", code: .envUnset, file: ca, line: 3,
            change: extraCA(name: "EXTRA", challenge: "${NOT_SET_ANYWHERE}")),
        .init(name: "empty challenge", code: .caChallengeEmpty, file: ca, line: 3, change: extraCA(name: "EXTRA", challenge: "\"\"")),
        .init(name: "masked challenge", code: .caChallengeEmpty, file: ca, line: 3,
            change: extraCA(name: "EXTRA", challenge: "\"********\"")),
        .init(name: "malformed variable reference", code: .envSyntax, file: ca, line: 3,
            change: extraCA(name: "EXTRA", challenge: "${VPN_CHALLENGE")),
        .init(name: "renewal before as a plain number", code: .caRenewalInvalid, file: wifi, line: 5,
            change: wifiRenewal("renewal:\n  before: 30\n")),
        .init(name: "renewal before not a duration", code: .caRenewalInvalid, file: wifi, line: 5,
            change: wifiRenewal("renewal:\n  before: soon\n")),
        .init(name: "renewal before over ten years", code: .caRenewalInvalid, file: wifi, line: 5,
            change: wifiRenewal("renewal:\n  before: 4000d\n")),
        .init(name: "renewal max_per_hour zero", code: .caRenewalInvalid, file: wifi, line: 6,
            change: wifiRenewal("renewal:\n  before: 1d\n  max_per_hour: 0\n")),
        .init(name: "renewal max_per_hour not a number", code: .caRenewalInvalid, file: wifi, line: 5,
            change: wifiRenewal("renewal:\n  max_per_hour: [1]\n")),
        .init(name: "renewal misspelt key", code: .unknownKey, file: wifi, line: 5,
            change: wifiRenewal("renewal:\n  befor: 1d\n")),
        .init(name: "renewal not a mapping", code: .wrongType, file: wifi, line: 4,
            change: wifiRenewal("renewal: 1d\n")),

        // Teams
        .init(name: "team without enroll secret", code: .missingKey, file: "teams/extra.yml", line: 1,
            change: { $0.write("teams/extra.yml", "name: Extra\n") }),
        .init(name: "duplicate team name", code: .teamNameDuplicate, file: "teams/zz.yml", line: 1,
            change: { $0.write("teams/zz.yml", "name: Kiosks\nenroll_secret: other-${VPN_CHALLENGE}\n") }),
        .init(name: "duplicate enroll secret", code: .teamEnrollSecretDuplicate, file: "teams/zz.yml", line: 2,
            change: { $0.write("teams/zz.yml", "name: Lab\nenroll_secret: ${WS_SECRET}\n") }),
        .init(name: "profiles is not a list", code: .wrongType, file: team, line: 3,
            change: team("name: Workstations\nenroll_secret: ${WS_SECRET}\nprofiles: profiles/wifi.mobileconfig\n")),

        // Profiles
        .init(name: "profile that is not a plist", code: .profileNotPlist, file: profile, line: 1,
            change: wifiProfile("this is not XML\n")),
        .init(name: "profile with an unclosed element", code: .profileNotPlist, file: profile, line: 11,
            change: wifiProfile(ValidRepo.profile().replacingOccurrences(
                of: "$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_WIFI</string>", with: "$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_WIFI<string>"))),
        .init(name: "binary plist", code: .profileBinaryPlist, file: profile, line: nil,
            change: wifiProfile("bplist00\u{1}\u{2}")),
        .init(name: "two SCEP payloads", code: .profileMultipleSCEPPayloads, file: profile, line: 26,
            change: wifiProfile(ValidRepo.profile(
                extraPayload: ValidRepo.payload(type: "com.apple.security.scep", identifier: "com.example.second")))),
        .init(name: "variable in another payload", code: .variableOutsideSCEPPayload, file: profile, line: 26,
            change: wifiProfile(ValidRepo.profile(
                extraPayload: ValidRepo.payload(
                    type: "com.apple.wifi.managed", identifier: "com.example.net",
                    text: "$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_WIFI")))),
        .init(name: "variable that is not the whole Challenge", code: .variableWrongField, file: profile, line: 11,
            change: wifiProfile(ValidRepo.profile(challenge: "pre-$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_WIFI"))),
        .init(name: "challenge variable in the URL field", code: .variableWrongField, file: profile, line: 11,
            errorCount: 2,
            change: wifiProfile(ValidRepo.profile(
                challenge: "${FLEET_VAR_CUSTOM_SCEP_PROXY_URL_WIFI}", url: "$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_WIFI"))),
        .init(name: "challenge without the URL variable", code: .variableMissingPair, file: profile, line: 11,
            change: wifiProfile(ValidRepo.profile(url: "https://static.example.com/scep"))),
        .init(name: "CA mismatch between challenge and URL", code: .variableCAMismatch, file: profile, line: 15,
            change: wifiProfile(ValidRepo.profile(url: "$FLEET_VAR_CUSTOM_SCEP_PROXY_URL_VPN"))),
        .init(name: "unknown FLEET_VAR", code: .variableUnknown, file: profile, line: 13,
            change: wifiProfile(ValidRepo.profile(organizationalUnit: "$FLEET_VAR_HOST_SERIAL"))),
        .init(name: "variable for a CA that does not exist", code: .variableUnknownCA, file: profile, line: 11,
            errorCount: 2,
            change: wifiProfile(ValidRepo.profile(
                challenge: "$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_NOPE", url: "$FLEET_VAR_CUSTOM_SCEP_PROXY_URL_NOPE"))),
        .init(name: "the same variable twice", code: .variableDuplicate, file: profile, line: 15,
            change: wifiProfile(ValidRepo.profile(url: "${FLEET_VAR_CUSTOM_SCEP_PROXY_URL_WIFI}").replacingOccurrences(
                of: "<key>URL</key>\n        <string>${FLEET_VAR_CUSTOM_SCEP_PROXY_URL_WIFI}</string>",
                with: "<key>URL</key>\n        <string>${FLEET_VAR_CUSTOM_SCEP_PROXY_URL_WIFI}</string><key>URL2</key><string>$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_WIFI</string>"
            ))),
        .init(name: "renewal id outside the Subject", code: .renewalIDPlacement, file: profile, line: 11,
            change: wifiProfile(ValidRepo.profile(organizationalUnit: "IT").replacingOccurrences(
                of: "<string>$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_WIFI</string>",
                with: "<string>$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_WIFI</string><key>Name</key><string>$FLEET_VAR_SCEP_RENEWAL_ID</string>"
            ))),
        .init(name: "renewal id without the SCEP variables", code: .renewalIDWithoutSCEP, file: profile, line: 13,
            change: wifiProfile(ValidRepo.profile(challenge: "static", url: "https://static.example.com/scep"))),
        .init(name: "duplicate PayloadIdentifier in a team", code: .profileDuplicateIdentifier, file: "teams/kiosks.yml",
            line: 4, change: { $0.write("profiles/copy.mobileconfig", ValidRepo.profile()) }),
        .init(name: "PayloadType other than Configuration", code: .profilePayloadType, file: profile, line: 33,
            change: wifiProfile(ValidRepo.profile(payloadType: "com.apple.wifi.managed"))),
        .init(name: "profile without PayloadIdentifier", code: .profileMissingKey, file: profile, line: 4,
            change: wifiProfile(ValidRepo.profile().replacingOccurrences(
                of: "<key>PayloadIdentifier</key>\n  <string>com.example.wifi</string>\n", with: ""))),

        // Paths
        .init(name: "profile path that matches nothing", code: .pathMatchesNothing, file: team, line: 4,
            change: team("name: Workstations\nenroll_secret: ${WS_SECRET}\nprofiles:\n  - profiles/missing.mobileconfig\n")),
        .init(name: "glob that matches nothing", code: .pathMatchesNothing, file: team, line: 5,
            change: team(ValidRepo.workstations.replacingOccurrences(of: "profiles/vpn/*", with: "profiles/mac/*"))),
        .init(name: "path escaping with ..", code: .pathEscapesRepo, file: team, line: 4,
            change: team("name: Workstations\nenroll_secret: ${WS_SECRET}\nprofiles:\n  - profiles/../../etc.mobileconfig\n")),
        .init(name: "absolute path", code: .pathEscapesRepo, file: team, line: 4,
            change: team("name: Workstations\nenroll_secret: ${WS_SECRET}\nprofiles:\n  - /etc/passwd\n")),
        .init(name: "path outside profiles/", code: .pathOutsideProfiles, file: team, line: 4,
            change: team("name: Workstations\nenroll_secret: ${WS_SECRET}\nprofiles:\n  - teams/kiosks.yml\n")),
        .init(name: "symlink out of the repo", code: .symlinkEscapesRepo, file: "profiles/evil.mobileconfig", line: nil,
            change: { $0.symlink("profiles/evil.mobileconfig", to: "/etc/hostname") }),
        .init(name: "file over the size limit", code: .fileTooLarge, file: "profiles/huge.mobileconfig", line: nil,
            // Sparse and 4 GiB: a loader that read it whole would not get through this test.
            change: { $0.sparseFile("profiles/huge.mobileconfig", size: 4 << 30) }),

        // The repo itself
        .init(name: "--ref that does not exist", code: .refNotFound, file: nil, line: nil, ref: "no-such-branch",
            change: { $0.commitAll() }),
        .init(name: "--repo that does not exist", code: .repoNotFound, file: nil, line: nil,
            repoPath: "/nonexistent/scepops-repo", change: { _ in }),
        .init(name: "--ref outside a git repository", code: .repoNotFound, file: nil, line: nil, ref: "HEAD",
            change: { _ in }),
    ]
}

@Suite("Broken repos: one defect, one diagnostic")
struct BrokenRepoTests {
    @Test func theValidRepoIsValid() async {
        let repo = ValidRepo.make()
        let result = ConfigValidator.validate(
            ConfigLoader.load(repo: repo.path, ref: nil, environment: ValidRepo.environment))
        #expect(result.diagnostics == [])
        #expect(result.state?.certificateAuthorities.map(\.name) == ["VPN", "WIFI"])
        #expect(result.state?.teams.map(\.profilePaths) == [
            ["profiles/vpn/vpn.mobileconfig", "profiles/wifi.mobileconfig"],
            ["profiles/vpn/vpn.mobileconfig", "profiles/wifi.mobileconfig"],
        ])
        #expect(result.state?.profiles.map(\.certificateAuthorities) == [["VPN"], ["WIFI"]])
    }

    @Test(arguments: BrokenRepo.all)
    func brokenRepo(_ broken: BrokenRepo) async {
        let repo = ValidRepo.make()
        broken.change(repo)
        let config = ConfigLoader.load(
            repo: broken.repoPath ?? repo.path, ref: broken.ref, environment: ValidRepo.environment)
        let result = ConfigValidator.validate(config)
        let errors = result.diagnostics.filter { $0.severity == .error }

        #expect(result.state == nil)
        #expect(errors.count == broken.errorCount, "\(errors.map(ValidationReport.line))")
        #expect(errors.allSatisfy { $0.code == broken.code }, "\(errors.map(ValidationReport.line))")
        let first = errors.first
        #expect(first?.file == broken.file)
        #expect(first?.position?.line == broken.line)
        #expect(first.map { !$0.message.isEmpty } == true)
        for secret in ValidRepo.environment.values {
            #expect(!result.diagnostics.contains { $0.message.contains(secret) })
        }
    }

    @Test func tableCoversAtLeastThirtyDefects() {
        #expect(BrokenRepo.all.count >= 30)
    }
}

import Foundation
