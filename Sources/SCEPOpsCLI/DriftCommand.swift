import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import SCEP
import SCEPOpsConfig
import SCEPOpsCore
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
        guard expiryDays >= 0, unseenDays >= 0, caCheck.caTimeout > 0 else {
            throw ValidationError("--expiry-days and --unseen-days must be 0 or more, --ca-timeout more than 0")
        }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let now = Date()
        var notes: [String] = []
        let (rules, ruleDiagnostics) = ignore.map(DriftIgnoreFile.read) ?? ([], [])
        let previous = try since.map { try Self.previousFingerprints($0, notes: &notes) }

        let (store, box) = try await state.openExisting()
        var reconciliation = Reconciliation(
            repo: repo, state: state, caCheck: caCheck, environment: environment)
        reconciliation.checksNewCAs = false
        let findings: [DriftFinding]
        let plan: Plan
        do {
            plan = try await reconciliation.run(store: store, box: box).plan
            let authorities = try await store.status().certificateAuthorities
            let health = caCheck.offline ? authorities.map { .init(name: $0.name, applied: $0.certificate, live: .unchecked) }
                : await Self.checkHealth(authorities, timeout: caCheck.caTimeout)
            if caCheck.offline { notes.append("CA health not checked (--offline): \(authorities.count) CA(s) not asked for GetCACert") }
            findings = DriftAnalyzer(expiryDays: expiryDays, unseenDays: unseenDays).findings(
                plan: plan, hosts: try await store.hostObservations(), authorities: health, now: now)
        } catch {
            Output.error("error[\(error.code.rawValue)]: \(error.message)")
            throw ExitStatus.failure
        }
        let diagnostics = (plan.diagnostics + ruleDiagnostics).sorted()
        let report = DriftReport(
            source: plan.source, findings: diagnostics.hasErrors ? [] : findings, rules: rules, since: previous, notes: notes,
            diagnostics: diagnostics, now: now)
        switch format {
        case .text: Output.write(DriftText.render(report))
        case .markdown: Output.write(DriftMarkdown.render(report))
        case .json: Output.write(DriftDocument(report).json())
        }
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }

    /// GetCACert against every applied CA, all at once.
    static func checkHealth(_ authorities: [StateStatus.CertificateAuthorityRow], timeout: Int) async
        -> [CertificateAuthorityHealth]
    {
        let client = SCEPHTTPClient.makeHTTPClient()
        let check = CACertificateCheck(client: client, timeout: .seconds(Int64(timeout)))
        let health = await withTaskGroup(of: CertificateAuthorityHealth.self) { group in
            for authority in authorities {
                group.addTask {
                    let live: CertificateAuthorityHealth.Live =
                        switch await check.fetch(authority.url) {
                        case .success(let certificate): .answered(certificate.summary)
                        case .failure(let failure): .unreachable(failure.message)
                        }
                    return CertificateAuthorityHealth(name: authority.name, applied: authority.certificate, live: live)
                }
            }
            var all: [CertificateAuthorityHealth] = []
            for await one in group { all.append(one) }
            return all
        }
        try? await client.shutdown()
        return health
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
