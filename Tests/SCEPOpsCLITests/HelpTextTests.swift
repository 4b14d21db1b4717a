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

    @Test func serveSaysWhatItRuns() {
        let help = Command.run(Command.scepops, ["serve", "--help"]).stdout
        #expect(help.contains("the MDM channel") && help.contains("renewal"))
        for flag in ["--renewal-interval", "--renewal-attempts", "--renewal-backoff", "--renewal-timeout", "--admin-listen"] {
            #expect(help.contains(flag), "\(flag) in serve's help")
        }
    }
}
