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
