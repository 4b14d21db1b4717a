import ArgumentParser
import SCEPOpsCore

/// The `scepops` command. Each subcommand parses its flags into a typed value, runs, and
/// exits with a code from `ExitStatus`.
public struct SCEPOps: AsyncParsableCommand {
    // Computed: the version names the commit the executable stamps as it starts.
    public static var configuration: CommandConfiguration {
        CommandConfiguration(
        commandName: "scepops",
        abstract: "GitOps for SCEP certificates on Apple devices.",
        version: SCEPOpsVersion.description,
        subcommands: [
            Validate.self, PlanCommand.self, ApplyCommand.self, DriftCommand.self, StatusCommand.self, HistoryCommand.self,
            ShowCommand.self, ExportCommand.self, ServeCommand.self, HostsCommand.self, CertificatesCommand.self,
            EnrollmentProfileCommand.self, StateCommand.self, TokenCommand.self,
        ]
    )
    }

    public init() {}
}

/// Exit codes (SPEC §3).
enum ExitStatus {
    static let success = ExitCode(0)
    static let failure = ExitCode(1)
    /// `plan --detailed-exitcode`: the plan succeeded and has changes.
    static let changesPending = ExitCode(2)
    // `drift` exits 2, 3 or 4: `DriftReport.exitCode`.
}
