import Foundation
import SCEPOpsTestSupport
import Testing

/// What `--help` says stays true of what the commands do.
@Suite("Help texts")
struct HelpTextTests {
    @Test(arguments: [[], ["serve"], ["certificates"], ["hosts"], ["show"]])
    func noHelpPromisesWhatIsAlreadyThere(_ command: [String]) {
        let help = Command.run(Command.scepops, command + ["--help"])
        #expect(help.status == 0)
        #expect(!help.stdout.contains("to come"), "\(help.stdout)")
    }

    static let commands: [[String]] = [
        [], ["validate"], ["plan"], ["apply"], ["drift"], ["status"], ["history"], ["show"], ["export"], ["serve"], ["hosts", "list"],
        ["hosts", "allow-reenroll"], ["certificates"], ["enrollment-profile"], ["state", "copy"], ["token", "create"], ["token", "list"],
        ["token", "revoke"],
    ]

    /// Each command's help ends with examples, and every flag an example uses is one the
    /// command takes.
    @Test(arguments: commands)
    func everyCommandShowsExamplesThatParse(_ command: [String]) throws {
        let help = Command.run(Command.scepops, command + ["--help"]).stdout
        let examples = try #require(help.components(separatedBy: "Examples:\n").dropFirst().first, "no examples in \(command)")
        let lines = examples.split(separator: "\n").filter { $0.contains("scepops ") }
        #expect(!lines.isEmpty)
        for flag in lines.flatMap({ $0.matches(of: /(?:^|\s)--([a-z][a-z0-9-]*)/).map { String($0.1) } })
        where !help.contains("--\(flag) ") && !help.contains("--\(flag)\n") && !help.contains("--\(flag) <") {
            // The root's examples name other commands' flags: those must be in that command's help.
            let other = lines.first { $0.contains("--\(flag)") }.flatMap { $0.firstMatch(of: /scepops ([a-z-]+)/).map { String($0.1) } } ?? ""
            #expect(Command.run(Command.scepops, [other, "--help"]).stdout.contains("--\(flag)"), "\(command): --\(flag) in an example")
        }
    }

    @Test func enrollmentProfileURLsMustBeAbsolute() {
        let result = Command.run(
            Command.scepops, ["enrollment-profile", "--team", "T", "--server-url", "mdm.example.com", "--identity-scep-url", "https://ca/scep"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("error: --server-url must be an absolute http(s) URL"), "\(result.stderr)")
    }

    @Test func versionNamesTheCommitBuilt() {
        let head = Command.run("/usr/bin/git", ["-C", Command.packageRoot, "rev-parse", "--short=12", "HEAD"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let version = Command.run(Command.scepops, ["--version"])
        #expect(version.status == 0)
        #expect(version.stdout == "0.1.0 (commit \(head.isEmpty ? "unknown" : head))\n", "\(version.stdout)")
    }

    @Test func aMisspeltCommandGetsASuggestionAndOneErrorPrefix() {
        let typo = Command.run(Command.scepops, ["plann", "--repo", "."])
        #expect(typo.status == 1)
        #expect(typo.stderr.hasPrefix("error: unknown command 'plann'; did you mean 'plan'?\n"), "\(typo.stderr)")
        let far = Command.run(Command.scepops, ["frobnicate"])
        #expect(far.stderr.hasPrefix("error: Unexpected argument 'frobnicate'"), "\(far.stderr)")
        for result in [typo, far, Command.run(Command.scepops, ["plan", "--nope"])] {
            #expect(!result.stderr.contains("Error:"), "\(result.stderr)")
        }
    }

    @Test func helpShowsDurationsAsTheyAreWritten() {
        let serve = Command.run(Command.scepops, ["serve", "--help"]).stdout.replacingOccurrences(of: "\n", with: " ")
            .replacingOccurrences(of: #" +"#, with: " ", options: .regularExpression)
        for (flag, shown) in [("--worker-interval", "1s"), ("--idle-timeout", "1m"), ("--verify-interval", "1h"), ("--renewal-interval", "1m")] {
            // The flag, its help, then its default, before the next flag.
            let section = serve.components(separatedBy: "\(flag) <").dropFirst().first?.components(separatedBy: " --").first ?? ""
            #expect(section.contains("(default: \(shown))"), "\(flag): \(section)")
        }
        #expect(!serve.contains("Seconds "), "a duration flag still counts in seconds")
        let apply = Command.run(Command.scepops, ["apply", "--help"]).stdout
        #expect(apply.contains("(default: 15m)") && apply.contains("(default: 0)"), "\(apply)")
    }

    @Test func serveSaysWhatItRuns() {
        let help = Command.run(Command.scepops, ["serve", "--help"]).stdout
        #expect(help.contains("the MDM channel") && help.contains("renewal"))
        for flag in ["--renewal-interval", "--renewal-attempts", "--renewal-backoff", "--renewal-timeout", "--admin-listen"] {
            #expect(help.contains(flag), "\(flag) in serve's help")
        }
    }
}
