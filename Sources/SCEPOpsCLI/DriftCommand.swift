import ArgumentParser
import Foundation
import SCEPOpsConfig
import SCEPOpsCore
import SCEPOpsServer
import SCEPOpsStore

/// `scepops drift`: what differs between git, the state, the hosts and the CAs. Read-only:
/// it takes no lock and writes nothing, so cron can run it at any time.
struct DriftCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drift",
        abstract: "Report what differs between git, the state, the hosts and the CAs.",
        discussion: """
            Exits 0 when clean, 2 for unapplied git changes only, 3 for drift between the state and the hosts or CAs \
            only, 4 for both, 1 on an error. Ignored findings and, with --since, findings already reported do not count.

            Examples:
              scepops drift --repo .
              scepops drift --repo . --format markdown --ignore drift-ignore.yml
              scepops drift --repo . --since last-drift.json --format json > last-drift.json
            """
    )

    @OptionGroup var repo: RepoOptions
    @OptionGroup var state: StateOptions

    @Option(help: "Output format.")
    var format: ReportFormat = .text

    @Option(help: "An ignore file: rules with a reason and an `until:` date.")
    var ignore: String?

    @Option(help: "A previous `drift --format json` output: findings it reported are not reported again.")
    var since: String?

    @Option(help: "Report host and CA certificates that expire within this many days.")
    var expiryDays: Int = 30

    @Option(help: "Report hosts not heard from for this many days.")
    var unseenDays: Int = 7

    @OptionGroup var caCheck: CACheckOptions

    func validate() throws {
        guard expiryDays >= 0, unseenDays >= 0, caCheck.caTimeout.seconds > 0 else {
            throw ValidationError("--expiry-days and --unseen-days must be 0 or more, --ca-timeout more than 0")
        }
    }

    @OptionGroup var remote: RemoteOptions

    func run() async throws {
        var notes: [String] = []
        let (rules, ruleDiagnostics) = ignore.map(DriftIgnoreFile.read) ?? ([], [])
        let previous = try since.map { try Self.previousFingerprints($0, notes: &notes) }
        let run = DriftRun(
            caCheck: .init(offline: caCheck.offline, timeout: caCheck.caTimeout.wholeSeconds), expiryDays: expiryDays,
            unseenDays: unseenDays, rules: rules, ruleDiagnostics: ruleDiagnostics, since: previous, notes: notes)
        let config = ConfigLoader.load(repo: repo.repo, ref: repo.ref, environment: ProcessInfo.processInfo.environment)
        if remote.url != nil {
            let answer = try await remote.post(
                "/v1/drift", AdminWire.DriftCall(config: ConfigUpload(config, embedsContent: false), run: run, format: format),
                config: config,
                as: AdminWire.DriftAnswer.self)
            Output.write(answer.rendered)
            if answer.exitCode != 0 { throw ExitCode(answer.exitCode) }
            return
        }
        let (store, box) = try await state.openExisting()
        let report: DriftReport
        do {
            report = try await run.report(config, store: store, box: box)
        } catch {
            Output.error("error[\(error.code.rawValue)]: \(error.message)")
            throw ExitStatus.failure
        }
        Output.write(DriftRun.render(report, format))
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }

    /// A missing file is a first run: nothing was reported before.
    static func previousFingerprints(_ path: String, notes: inout [String]) throws -> Set<String> {
        guard let data = FileManager.default.contents(atPath: path) else {
            notes.append("no --since file at \(path) yet: every finding counts as new")
            return []
        }
        guard let fingerprints = DriftDocument.reportedFingerprints([UInt8](data)) else {
            Output.error("error: \(path) is not the output of `scepops drift --format json`")
            throw ExitStatus.failure
        }
        return fingerprints
    }
}
