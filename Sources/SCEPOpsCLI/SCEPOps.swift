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
        discussion: """
            A git repository holds certificate authorities, teams and profiles; plan shows what apply would \
            change, apply makes it so, drift says what moved, and serve delivers it to the hosts.

            Examples:
              scepops validate --repo .
              scepops plan --repo . --detailed-exitcode
              scepops apply --repo . --auto-approve
              scepops serve --device-ca device-ca.pem --server-url https://mdm.example.com
            """,
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

/// Exit codes (docs/contract.md §3).
enum ExitStatus {
    static let success = ExitCode(0)
    static let failure = ExitCode(1)
    /// `plan --detailed-exitcode`: the plan succeeded and has changes.
    static let changesPending = ExitCode(2)
    // `drift` exits 2, 3 or 4: `DriftReport.exitCode`.
}
