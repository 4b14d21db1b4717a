import Foundation
import SCEPOpsTestSupport
import Testing

/// The tarball `ci/release` builds runs on a machine without Swift: here, in a mount
/// namespace where an empty folder covers the Swift toolchain. `ci/test` builds it and
/// names it in SCEPOPS_TEST_RELEASE.
@Suite("The release tarball", .enabled(if: ProcessInfo.processInfo.environment["SCEPOPS_TEST_RELEASE"] != nil))
struct ReleaseTarballTests {
    let work = TempRepo()

    /// The toolchain's root: `swift` on PATH is <root>/usr/bin/swift.
    static var toolchain: String? {
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(folder) + "/swift")
            guard FileManager.default.isExecutableFile(atPath: candidate.path) else { continue }
            return candidate.resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().path
        }
        return nil
    }

    /// `arguments` run with the toolchain's folder covered by an empty tmpfs.
    func withoutSwift(_ toolchain: String, _ arguments: [String], environment: [String: String] = [:]) -> Command.Result {
        Command.run(
            "/usr/bin/unshare",
            ["--mount", "--map-root-user", "--fork", "/bin/sh", "-c", "mount -t tmpfs tmpfs \"$0\" && exec \"$@\"", toolchain] + arguments,
            directory: work.path, environment: environment)
    }

    @Test func itRunsWhereTheSwiftToolchainIsOutOfReach() throws {
        let tarball = try #require(ProcessInfo.processInfo.environment["SCEPOPS_TEST_RELEASE"])
        let toolchain = try #require(Self.toolchain, "no swift on PATH")
        let unpacked = Command.run("/bin/tar", ["-xzf", tarball, "-C", work.path])
        try #require(unpacked.status == 0, "\(unpacked.stderr)")
        let binary = work.path + "/scepops/bin/scepops"
        #expect(FileManager.default.fileExists(atPath: work.path + "/scepops/share/doc/scepops/docs/openapi.yaml"))
        #expect(FileManager.default.fileExists(atPath: work.path + "/scepops/share/doc/scepops/pipelines/github/scepops-plan.yml"))
        // The man page covers every command; the completions know them too.
        let manual = try String(contentsOfFile: work.path + "/scepops/share/man/man1/scepops.1", encoding: .utf8)
        #expect(manual.contains(".Dt SCEPOPS 1"))
        for command in ["validate", "plan", "apply", "drift", "serve", "certificates", "token"] {
            #expect(manual.contains(command), "\(command) in the man page")
        }
        let bash = try String(contentsOfFile: work.path + "/scepops/share/bash-completion/completions/scepops", encoding: .utf8)
        #expect(bash.contains("serve") && bash.contains("--admin-listen"))
        #expect(FileManager.default.fileExists(atPath: work.path + "/scepops/share/zsh/site-functions/_scepops"))
        #expect(FileManager.default.fileExists(atPath: work.path + "/scepops/share/fish/vendor_completions.d/scepops.fish"))
        #expect(FileManager.default.fileExists(atPath: work.path + "/scepops/share/doc/scepops/examples/deploy/scepops.service"))
        let libraries = Command.run("/usr/bin/ldd", [binary]).stdout
        #expect(!libraries.contains(toolchain) && !libraries.contains("libswift"), "\(libraries)")

        // The test's own build needs the toolchain's libraries: covered, it cannot start.
        #expect(withoutSwift(toolchain, [Command.scepops, "--version"]).status != 0, "the toolchain is not out of reach")
        let version = withoutSwift(toolchain, [binary, "--version"])
        #expect(version.status == 0 && !version.stdout.isEmpty, "\(version.stderr)")

        // Real work: read a git repo with libgit2, plan and apply into SQLite with the key.
        let example = Command.packageRoot + "/examples/basic"
        let env = try String(contentsOfFile: example + "/example.env", encoding: .utf8)
        var environment = Dictionary(
            env.split(separator: "\n").filter { !$0.hasPrefix("#") && $0.contains("=") }.map {
                let parts = $0.split(separator: "=", maxSplits: 1)
                return (String(parts[0]), String(parts[1]))
            }) { $1 }
        environment["SCEPOPS_SECRET_KEY"] = ReconcileCommandTests.key
        let validated = withoutSwift(toolchain, [binary, "validate", "--repo", example], environment: environment)
        #expect(validated.status == 0, "\(validated.stdout)\(validated.stderr)")
        let applied = withoutSwift(
            toolchain, [binary, "apply", "--repo", example, "--offline", "--auto-approve", "--db", work.path + "/state.db"],
            environment: environment)
        #expect(applied.status == 0 && applied.stdout.contains("Apply complete"), "\(applied.stdout)\(applied.stderr)")
        let status = withoutSwift(toolchain, [binary, "status", "--db", work.path + "/state.db"], environment: environment)
        #expect(status.status == 0 && status.stdout.contains("State revision 1"), "\(status.stderr)")
    }
}
