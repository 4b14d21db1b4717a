import Foundation
import SCEPOpsTestSupport
import Testing

/// Config repos that are wrong, empty or hostile, on the built binary: a wrong `--repo`,
/// a plan that would delete everything, YAML alias bombs, file names that forge output.
@Suite("Hostile and mistaken repos")
struct HostileRepoTests {
    let environment = ValidRepo.environment.merging(["SCEPOPS_SECRET_KEY": ReconcileCommandTests.key]) { $1 }

    func scepops(_ arguments: [String], in work: TempRepo) -> Command.Result {
        Command.run(Command.scepops, arguments, directory: work.path, environment: environment)
    }

    @Test func noConfigurationIsAnErrorNotAnEmptyConfig() throws {
        let work = TempRepo()
        let empty = TempRepo()
        let projectRoot = TempRepo()
        projectRoot.write(["README.md": "# not a config\n", "config/certificate_authorities/wifi.yml": ValidRepo.wifiCA])
        for repo in [empty, projectRoot] {
            let validate = scepops(["validate", "--repo", repo.path], in: work)
            #expect(validate.status == 1)
            #expect(validate.stdout.contains("error[no-configuration]: no configuration found in \(repo.path)"), "\(validate.stdout)")
        }
        // Applied once, then pointed at the wrong folder: refused, and nothing is deleted.
        let repo = ValidRepo.make()
        let db = work.path + "/state.db"
        #expect(scepops(["apply", "--auto-approve", "--offline", "--repo", repo.path, "--db", db], in: work).status == 0)
        let wrong = scepops(["apply", "--auto-approve", "--offline", "--repo", empty.path, "--db", db], in: work)
        #expect(wrong.status == 1)
        #expect(wrong.stdout.contains("no-configuration"))
        let status = scepops(["status", "--db", db], in: work)
        #expect(status.stdout.contains("State revision 1"), "\(status.stdout)")
    }

    @Test func aSymlinkedTopLevelFolderAFIFOAndAnUnreadableFolderAreNamed() throws {
        let outside = TempRepo()
        outside.write("wifi.yml", ValidRepo.wifiCA)
        let repo = ValidRepo.make()
        repo.remove("certificate_authorities")
        repo.symlink("certificate_authorities", to: outside.path)
        #expect(mkfifo(repo.path + "/teams/pipe.yml", 0o644) == 0)
        let validate = scepops(["validate", "--repo", repo.path], in: TempRepo())
        #expect(validate.status == 1)
        #expect(validate.stdout.contains("certificate_authorities: error[symlink-escapes-repo]"), "\(validate.stdout)")
        #expect(validate.stdout.contains("teams/pipe.yml: error[not-a-regular-file]: is a FIFO"), "\(validate.stdout)")

        // A folder its reader may not list (root lists anything, so as nobody).
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { return }
        let other = ValidRepo.make()
        other.write("profiles/locked/extra.mobileconfig", ValidRepo.files["profiles/wifi.mobileconfig"]!)
        chmod(other.path + "/profiles/locked", 0o700)
        chmod(other.path, 0o755)
        let work = TempRepo()
        chmod(work.path, 0o755)
        let binary = work.path + "/scepops-copy"
        try FileManager.default.copyItem(atPath: Command.scepops, toPath: binary)
        let asNobody = Command.run(
            "/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", binary, "validate", "--repo", other.path],
            directory: work.path, environment: environment)
        #expect(asNobody.status == 1)
        #expect(asNobody.stdout.contains("profiles/locked: error[folder-unreadable]"), "\(asNobody.stdout)\(asNobody.stderr)")
    }

    @Test func aPlanThatDeletesEveryTeamNeedsAllowDestroy() throws {
        let work = TempRepo()
        let repo = ValidRepo.make()
        let db = work.path + "/state.db"
        #expect(scepops(["apply", "--auto-approve", "--offline", "--repo", repo.path, "--db", db], in: work).status == 0)
        // The teams folder emptied (a broken checkout, a bad merge).
        repo.remove("teams")
        try FileManager.default.createDirectory(atPath: repo.path + "/teams", withIntermediateDirectories: true)
        let plan = scepops(["plan", "--offline", "--repo", repo.path, "--db", db], in: work)
        #expect(plan.stdout.contains("warning[destroys-everything]: this plan deletes every team (2), every profile (4)"), "\(plan.stdout)")
        let refused = scepops(["apply", "--auto-approve", "--offline", "--repo", repo.path, "--db", db], in: work)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("error[destroys-everything]"), "\(refused.stderr)")
        #expect(scepops(["status", "--db", db], in: work).stdout.contains("State revision 1"))
        let allowed = scepops(["apply", "--auto-approve", "--offline", "--allow-destroy", "--repo", repo.path, "--db", db], in: work)
        #expect(allowed.status == 0, "\(allowed.stdout)\(allowed.stderr)")
        #expect(scepops(["status", "--db", db], in: work).stdout.contains("State revision 2"))
    }

    @Test func yamlAliasBombsAreStoppedInBoundedMemoryAndOutput() throws {
        let repo = ValidRepo.make()
        // A 1 MB anchor referenced 500 times, and a 20,000-item list referenced 2,000 times.
        let big = String(repeating: "x", count: 1_000_000)
        repo.write(
            "teams/bomb.yml",
            "name: Bomb\nenroll_secret: ${KIOSK_SECRET}x\nprofiles:\n  - &a profiles/\(big).mobileconfig\n"
                + String(repeating: "  - *a\n", count: 500))
        let items = (0..<20_000).map { "  - profiles/p\($0).mobileconfig" }.joined(separator: "\n")
        repo.write(
            "teams/lists.yml",
            "name: Lists\nenroll_secret: ${WS_SECRET}y\nunused: &l\n\(items)\nprofiles:\n"
                + String(repeating: "  - *l\n", count: 2000))
        let work = TempRepo()
        let result = Command.run(
            "/usr/bin/time", ["-f", "maxrss_kb=%M", Command.scepops, "validate", "--repo", repo.path], directory: work.path,
            environment: environment)
        #expect(result.status == 1)
        #expect(result.stdout.contains("teams/bomb.yml:4:5: error[yaml-alias-limit]"), "\(result.stdout.prefix(2000))")
        #expect(result.stdout.contains("teams/lists.yml"))
        #expect(result.stdout.contains("error[too-many-findings]: "), "repeated findings are counted, not listed")
        #expect(result.stdout.utf8.count < 64 * 1024, "output \(result.stdout.utf8.count) bytes")
        let kilobytes = result.stderr.split(separator: "\n").first { $0.hasPrefix("maxrss_kb=") }
            .flatMap { Int($0.dropFirst("maxrss_kb=".count)) }
        let peak = try #require(kilobytes, "\(result.stderr)")
        #expect(peak < 200 * 1024, "peak memory \(peak) KiB")
    }

    @Test func controlCharactersInFileNamesCannotForgeOutputLines() throws {
        let repo = ValidRepo.make()
        let forged = "teams/x.yml:1:1: error[forged]: fake"
        repo.write("profiles/evil\n\(forged)\u{1B}[2J.mobileconfig", "not a plist")
        let work = TempRepo()
        for format in [["validate"], ["plan", "--offline", "--db", work.path + "/none.db"]] {
            let result = scepops(format + ["--repo", repo.path], in: work)
            #expect(result.status == 1)
            let lines = result.stdout.split(separator: "\n")
            #expect(!lines.contains { $0.hasPrefix("teams/x.yml") }, "\(result.stdout)")
            #expect(result.stdout.contains("profiles/evil\\n\(forged)\\u{1B}[2J.mobileconfig"), "\(result.stdout)")
            #expect(!result.stdout.contains("\u{1B}"))
        }
        let markdown = scepops(["plan", "--offline", "--format", "markdown", "--repo", repo.path, "--db", work.path + "/none.db"], in: work)
        #expect(!markdown.stdout.contains("\u{1B}"))
    }
}
