import Foundation
import SCEP
import SCEPOpsCore
import SCEPOpsStore

/// One drift run over a config that has been read: what `scepops drift` does in local mode
/// and the admin API's `/v1/drift` does for remote mode. It reads and never writes.
public struct DriftRun: Sendable, Codable {
    public var caCheck: Reconciler.CACheck
    public var expiryDays: Int
    public var unseenDays: Int
    /// The ignore file's rules, and what reading it found, as the CLI read it.
    public var rules: [DriftIgnoreRule]
    public var ruleDiagnostics: [JSONDiagnostic]
    /// The fingerprints a `--since` file reported; nil without one.
    public var since: Set<String>?
    /// What the CLI found about its own inputs (a `--since` file not there yet).
    public var notes: [String]

    enum CodingKeys: String, CodingKey {
        case caCheck = "ca_check"
        case expiryDays = "expiry_days"
        case unseenDays = "unseen_days"
        case ruleDiagnostics = "rule_diagnostics"
        case rules, since, notes
    }

    public init(
        caCheck: Reconciler.CACheck, expiryDays: Int, unseenDays: Int, rules: [DriftIgnoreRule], ruleDiagnostics: [Diagnostic],
        since: Set<String>?, notes: [String]
    ) {
        self.caCheck = caCheck
        self.expiryDays = expiryDays
        self.unseenDays = unseenDays
        self.rules = rules
        self.ruleDiagnostics = ruleDiagnostics.map(JSONDiagnostic.init)
        self.since = since
        self.notes = notes
    }

    public func report(
        _ config: UnvalidatedConfig, store: any StateReader & StatusReader & DriftReader, box: SecretBox, now: Date = Date()
    ) async throws(StoreError) -> DriftReport {
        var notes = notes
        let ruleDiagnostics = ruleDiagnostics.compactMap { $0.diagnostic() }
        let plan = try await Reconciler(caCheck: caCheck, checksNewCAs: false).plan(config, store: store, box: box).plan
        let authorities = try await store.status().certificateAuthorities
        let health =
            caCheck.offline
            ? authorities.map { .init(name: $0.name, applied: $0.certificate, live: .unchecked) }
            : await Self.checkHealth(authorities, timeout: caCheck.timeout)
        if caCheck.offline { notes.append("CA health not checked (--offline): \(authorities.count) CA(s) not asked for GetCACert") }
        let findings = DriftAnalyzer(expiryDays: expiryDays, unseenDays: unseenDays).findings(
            plan: plan, hosts: try await store.hostObservations(), authorities: health, now: now)
        let diagnostics = (plan.diagnostics + ruleDiagnostics).sorted()
        return DriftReport(
            source: plan.source, findings: diagnostics.hasErrors ? [] : findings, rules: rules, since: since, notes: notes,
            diagnostics: diagnostics, now: now)
    }

    public static func render(_ report: DriftReport, _ format: ReportFormat) -> String {
        switch format {
        case .text: DriftText.render(report)
        case .markdown: DriftMarkdown.render(report)
        case .json: DriftDocument(report).json()
        }
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
}
