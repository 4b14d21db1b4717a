import ArgumentParser
import Foundation
import SCEPOpsConfig
import SCEPOpsCore

/// `scepops validate`: reads the repo and reports every finding. Writes nothing.
struct Validate: ParsableCommand {
    // Named, as every command is, rather than from the type: ArgumentParser works a name
    // out through the runtime's type lookups, at a cost on every run.
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a config repository against the rules, reporting every error in one run.",
        discussion: """
            Exits 0 when the repository is valid (warnings allowed) and 1 when it is not.

            Examples:
              scepops validate --repo .
              scepops validate --repo . --ref HEAD --format json
            """
    )

    @OptionGroup var repo: RepoOptions

    @Option(help: "Output format.")
    var format: DataFormat = .text

    func run() throws {
        let config = ConfigLoader.load(
            repo: repo.repo, ref: repo.ref, environment: ProcessInfo.processInfo.environment)
        let report = ValidationReport(source: config.source, result: ConfigValidator.validate(config))
        let output = format == .json ? report.json() : report.text()
        FileHandle.standardOutput.write(Data(output.utf8))
        // Exits here rather than returning: freeing 10,000 profiles one by one would only
        // delay the exit, which hands all the memory back at once.
        let status = report.isValid ? ExitStatus.success : ExitStatus.failure
        withExtendedLifetime((config, report)) { Foundation.exit(status.rawValue) }
    }
}
