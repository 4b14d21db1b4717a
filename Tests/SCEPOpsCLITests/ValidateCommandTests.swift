import Foundation
import SCEPOpsTestSupport
import Testing

/// `scepops validate` as a user runs it: the built binary, a real folder, real output.
@Suite("scepops validate")
struct ValidateCommandTests {
    static let secrets = [
        "TEST_SCEP_CHALLENGE": "tsc-9f1d2e-SECRET",
        "WIFI_SCEP_CHALLENGE": "wifi-77ab-SECRET",
        "WORKSTATIONS_ENROLL_SECRET": "ws-enroll-4411-SECRET",
        "KIOSKS_ENROLL_SECRET": "kiosk-enroll-8822-SECRET",
    ]

    private func validate(_ arguments: [String], environment: [String: String] = secrets, in directory: String? = nil)
        -> Command.Result
    {
        Command.run(Command.scepops, ["validate"] + arguments, directory: directory, environment: environment)
    }

    private func copyOfBasicExample() -> TempRepo {
        let repo = TempRepo()
        let source = Command.packageRoot + "/examples/basic"
        for relative in FileManager.default.subpaths(atPath: source)! {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: source + "/" + relative, isDirectory: &isDirectory),
                !isDirectory.boolValue
            {
                repo.write(relative, FileManager.default.contents(atPath: source + "/" + relative)!)
            }
        }
        return repo
    }

    @Test func theBasicExampleIsValid() {
        let result = validate(["--repo", Command.packageRoot + "/examples/basic"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("valid: 2 certificate authorities, 2 teams, 3 profiles"))
    }

    @Test func invalidRepoExitsOneWithEveryFindingAsPathLineColumn() {
        let repo = copyOfBasicExample()
        repo.write("certificate_authorities/bad.yml", "name: BAD-NAME\nurl: ftp://x/scep\nchallenge: ${NOPE}\nextra: 1\n")
        let result = validate(["--repo", repo.path])
        #expect(result.status == 1)
        let errors = result.stdout.split(separator: "\n").filter { $0.contains(": error[") }
        #expect(errors == [
            "certificate_authorities/bad.yml:1:7: error[ca-name-invalid]: Invalid characters in the \"name\" field. Only letters, numbers and underscores allowed.",
            "certificate_authorities/bad.yml:2:6: error[ca-url-scheme]: SCEP URL scheme must be https or http",
            "certificate_authorities/bad.yml:3:12: error[env-unset]: environment variable NOPE is not set (used in \"challenge\"); set it, or write \\$ for a literal dollar sign",
            "certificate_authorities/bad.yml:4:1: error[unknown-key]: unknown key \"extra\" (allowed: name, url, challenge, renewal)",
        ])
        #expect(result.stdout.hasSuffix("invalid: 4 errors, 1 warning\n"))
    }

    @Test func jsonOutput() throws {
        let repo = copyOfBasicExample()
        repo.write("teams/lab.yml", "name: Lab\nenroll_secret: ${KIOSKS_ENROLL_SECRET}\n")
        let result = validate(["--repo", repo.path, "--format", "json"])
        #expect(result.status == 1)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(json["format_version"] as? String == "1")
        #expect(json["valid"] as? Bool == false)
        let diagnostics = try #require(json["diagnostics"] as? [[String: Any]])
        let error = try #require(diagnostics.first { $0["severity"] as? String == "error" })
        #expect(Set(error.keys) == ["severity", "code", "file", "line", "column", "message"])
        #expect(error["code"] as? String == "team-enroll-secret-duplicate")
        #expect(error["file"] as? String == "teams/lab.yml")
        #expect(error["line"] as? Int == 2)
        let warning = try #require(diagnostics.first { $0["severity"] as? String == "warning" })
        #expect(warning["line"] as? Int == 7)
    }

    @Test func validateWritesNothing() throws {
        let repo = copyOfBasicExample()
        repo.commitAll()
        repo.write("profiles/broken.mobileconfig", "<plist>")
        let cwd = TempRepo()
        let before = snapshot(repo.path)
        for arguments in [["--repo", repo.path], ["--repo", repo.path, "--ref", "HEAD", "--format", "json"]] {
            _ = validate(arguments, in: cwd.path)
        }
        #expect(snapshot(repo.path) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: cwd.path) == [])
    }

    @Test func secretsNeverAppearInOutput() {
        let repo = copyOfBasicExample()
        // Secrets in every place an error could echo them: a literal challenge, a bad
        // reference inside a secret, a duplicate enroll secret, a secret as a CA name.
        repo.write("certificate_authorities/literal.yml", "name: LITERAL\nurl: https://ca.example.com\nchallenge: tsc-9f1d2e-SECRET\n")
        repo.write("certificate_authorities/broken.yml", "name: BROKEN\nurl: https://ca.example.com\nchallenge: wifi-77ab-SECRET${OPEN\n")
        repo.write("teams/copy.yml", "name: Copy\nenroll_secret: ${WORKSTATIONS_ENROLL_SECRET}\nprofiles: [profiles/none.mobileconfig]\n")
        repo.write("teams/literal.yml", "name: Literal\nenroll_secret: kiosk-enroll-8822-SECRET-2\n")
        for format in ["text", "json"] {
            let result = validate(["--repo", repo.path, "--format", format])
            #expect(result.status == 1)
            #expect(result.stdout.contains("secret-in-repo"))
            for secret in Self.secrets.values {
                #expect(!result.stdout.contains(secret), "\(format) output shows \(secret)")
                #expect(!result.stderr.contains(secret))
            }
        }
    }

    @Test func usageErrorsExitOne() {
        let result = validate(["--format", "yaml"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("yaml"))
        let missing = validate(["--repo", "/nonexistent/repo"])
        #expect(missing.status == 1)
        #expect(missing.stdout.contains("error[repo-not-found]"))
    }

    /// Every file below `path` (the .git folder included) with its size and modification time.
    private func snapshot(_ path: String) -> [String: String] {
        var result: [String: String] = [:]
        for relative in FileManager.default.subpaths(atPath: path) ?? [] {
            let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/" + relative)
            result[relative] = "\(attributes?[.size] ?? 0) \(attributes?[.modificationDate] ?? "")"
        }
        return result
    }
}
