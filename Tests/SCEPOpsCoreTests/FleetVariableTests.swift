import SCEPOpsCore
import Testing

@Suite("Fleet variables and path patterns")
struct FleetVariableTests {
    @Test func scanning() {
        let result = FleetVariableScanner.scan(
            "$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_Test_SCEP ${FLEET_VAR_CUSTOM_SCEP_PROXY_URL_WIFI} x$FLEET_VAR_SCEP_RENEWAL_ID-y $FLEET_VAR_HOST ${FLEET_VAR_OPEN"
        )
        #expect(result.matches.map(\.variable) == [
            .customSCEPChallenge(ca: "Test_SCEP"), .customSCEPProxyURL(ca: "WIFI"), .scepRenewalID,
            .unknown(suffix: "HOST"),
        ])
        #expect(result.matches[1].written == "${FLEET_VAR_CUSTOM_SCEP_PROXY_URL_WIFI}")
        #expect(result.malformed == ["${FLEET_VAR_OPEN"])
        #expect(FleetVariable.customSCEPProxyURL(ca: "X").name == "$FLEET_VAR_CUSTOM_SCEP_PROXY_URL_X")
        #expect(FleetVariable(suffix: "CUSTOM_SCEP_CHALLENGE_") == .unknown(suffix: "CUSTOM_SCEP_CHALLENGE_"))
    }

    @Test(arguments: [
        ("profiles/a.mobileconfig", "profiles/a.mobileconfig", true),
        ("profiles/*.mobileconfig", "profiles/a.mobileconfig", true),
        ("profiles/*.mobileconfig", "profiles/sub/a.mobileconfig", false),
        ("profiles/**/*.mobileconfig", "profiles/a.mobileconfig", true),
        ("profiles/**/*.mobileconfig", "profiles/x/y/a.mobileconfig", true),
        ("profiles/?.mobileconfig", "profiles/ab.mobileconfig", false),
        ("./profiles/x/../a.mobileconfig", "profiles/a.mobileconfig", true),
        // Matched on UTF-8: `?` takes a whole character, whatever its length.
        ("profiles/?.mobileconfig", "profiles/é.mobileconfig", true),
        ("profiles/?b.mobileconfig", "profiles/日b.mobileconfig", true),
        ("profiles/??.mobileconfig", "profiles/日.mobileconfig", false),
        ("profiles/*é?.mobileconfig", "profiles/aéé日.mobileconfig", true),
        ("profiles/*é?.mobileconfig", "profiles/aé.mobileconfig", false),
        ("profiles/**/b/*", "profiles/a/b/c.mobileconfig", true),
        ("profiles/**/b/*", "profiles/a/bb/c.mobileconfig", false),
    ])
    func globs(_ pattern: String, _ path: String, _ matches: Bool) throws {
        #expect(try PathPattern.parse(pattern).get().matches(path) == matches)
    }

    @Test func patternsThatLeaveTheRepoOrProfiles() {
        #expect(PathPattern.parse("/etc/x") == .failure(.absolute))
        #expect(PathPattern.parse("profiles/../../x") == .failure(.escapesRepo))
        #expect(PathPattern.parse("teams/x.yml") == .failure(.outsideProfiles))
        #expect(PathPattern.parse("profiles") == .failure(.outsideProfiles))
    }

    @Test func secretsPrintAsAMask() {
        let secret = Secret("hunter2")
        #expect("\(secret)" == "(sensitive value)")
        #expect(String(reflecting: secret) == "(sensitive value)")
        var dumped = ""
        dump(secret, to: &dumped)
        #expect(!dumped.contains("hunter2"))
    }
}
