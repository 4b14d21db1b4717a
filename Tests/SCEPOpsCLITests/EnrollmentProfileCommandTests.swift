import Foundation
import SCEPOpsTestSupport
import Testing

@Suite("scepops enrollment-profile")
struct EnrollmentProfileCommandTests {
    @Test func printsAProfileThatEnrollsIntoTheTeam() throws {
        let repo = ValidRepo.make()
        let work = TempRepo()
        let db = work.path + "/state.db"
        var environment = ValidRepo.environment
        environment["SCEPOPS_SECRET_KEY"] = ReconcileCommandTests.key
        let apply = Command.run(
            Command.scepops, ["apply", "--offline", "--auto-approve", "--repo", repo.path, "--db", db], environment: environment)
        #expect(apply.status == 0, "\(apply.stderr)")

        func profile(team: String, secret: String?, challenge: String? = "identity-s3cret") -> Command.Result {
            var env = environment
            env["SCEPOPS_ENROLL_SECRET"] = secret
            env["SCEPOPS_IDENTITY_CHALLENGE"] = challenge
            return Command.run(
                Command.scepops,
                ["enrollment-profile", "--db", db, "--team", team, "--server-url", "https://mdm.example.com/",
                    "--identity-scep-url", "http://127.0.0.1:2016/scep", "--topic", "com.apple.mgmt.External.test"],
                environment: env)
        }

        let result = profile(team: "Workstations", secret: ValidRepo.environment["WS_SECRET"])
        #expect(result.status == 0, "\(result.stderr)")
        let plist = try #require(
            try PropertyListSerialization.propertyList(from: Data(result.stdout.utf8), format: nil) as? [String: Any])
        #expect(plist["PayloadType"] as? String == "Configuration")
        let payloads = try #require(plist["PayloadContent"] as? [[String: Any]])
        let scep = try #require(payloads.first { $0["PayloadType"] as? String == "com.apple.security.scep" })
        let mdm = try #require(payloads.first { $0["PayloadType"] as? String == "com.apple.mdm" })
        #expect(mdm["IdentityCertificateUUID"] as? String == scep["PayloadUUID"] as? String)
        #expect(mdm["SignMessage"] as? Bool == true)
        #expect(mdm["Topic"] as? String == "com.apple.mgmt.External.test")
        #expect(mdm["ServerURL"] as? String == "https://mdm.example.com/mdm/apple/command")
        // The team by an opaque reference: the check-in URL lands in proxies' access logs.
        let checkIn = try #require(mdm["CheckInURL"] as? String)
        #expect(checkIn.wholeMatch(of: /https:\/\/mdm\.example\.com\/mdm\/apple\/checkin\?team=[0-9a-f]{32}/) != nil, "\(checkIn)")
        #expect(!checkIn.contains(ValidRepo.environment["WS_SECRET"]!))
        let kiosks = profile(team: "Kiosks", secret: ValidRepo.environment["KIOSK_SECRET"]).stdout
        #expect(kiosks.contains("checkin?team=") && !kiosks.contains(checkIn), "each team its own reference")
        let content = try #require(scep["PayloadContent"] as? [String: Any])
        #expect(content["URL"] as? String == "http://127.0.0.1:2016/scep")
        #expect(content["Challenge"] as? String == "identity-s3cret")

        let wrong = profile(team: "Workstations", secret: ValidRepo.environment["KIOSK_SECRET"])
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("is not team \"Workstations\"'s enroll secret"))
        #expect(!wrong.stderr.contains(ValidRepo.environment["KIOSK_SECRET"]!))
        #expect(profile(team: "Nobody", secret: "x").status == 1)
        #expect(profile(team: "Workstations", secret: ValidRepo.environment["WS_SECRET"], challenge: nil).status == 1)
    }
}
