import AsyncHTTPClient
import Foundation
import NIOCore
import SCEP
import SCEPOpsConfig
import SCEPOpsCore
import SCEPOpsStore

/// The steps plan and apply share: read the repo, open the state, plan, check the CAs
/// live. The adapters are wired here, and only here.
struct Reconciliation {
    let repo: RepoOptions
    let state: StateOptions
    let caCheck: CACheckOptions
    let environment: [String: String]
    /// GetCACert against new and changed CA URLs; drift checks every CA its own way.
    var checksNewCAs = true

    struct Outcome {
        var plan: Plan
        var desired: DesiredState?
        /// By CA name, from the live check.
        var certificates: [String: CACertificate] = [:]
        var caCheckNote: String?
        var box: SecretBox

        var binding: PlanDocument.Binding? {
            desired.map { PlanBinding.make(plan, $0, box) }
        }
    }

    /// Opens the state. Without a state file and `create` false, nothing is created: the
    /// plan is made against an empty state, with a throwaway key for the digests.
    func open(create: Bool) throws(StoreError) -> (SQLiteStore?, SecretBox) {
        let exists = FileManager.default.fileExists(atPath: state.path)
        if !exists, !create {
            let box =
                (try? SecretKeyLoader.load(
                    environment: environment, keyFile: state.keyFile, database: state.path, create: false, notice: { _ in }))
                ?? (try! SecretBox(key: SecretBox.randomKey()))
            return (nil, box)
        }
        let box = try SecretKeyLoader.load(
            environment: environment, keyFile: state.keyFile, database: state.path, create: !exists,
            notice: { Output.error($0) })
        return (try SQLiteStore(path: state.path, box: box), box)
    }

    /// Plans against the state `open` gave (nil: an empty one that does not exist yet).
    func run(store: SQLiteStore?, box: SecretBox) async throws(StoreError) -> Outcome {
        let config = ConfigLoader.load(repo: repo.repo, ref: repo.ref, environment: environment)
        let validation = ConfigValidator.validate(config)
        let current = try store?.currentState() ?? .empty

        guard let desired = validation.state else {
            var diagnostics = validation.diagnostics + CANameRule.violations(config, current: current)
            diagnostics.sort()
            let plan = Plan(
                source: config.source, stateRevision: current.revision, changes: [], diagnostics: diagnostics,
                unchanged: [:])
            return Outcome(plan: plan, desired: nil, box: box)
        }
        var plan = Planner(secretDigest: box.digest).plan(desired, against: current)
        plan.diagnostics = validation.diagnostics
        var outcome = Outcome(plan: plan, desired: desired, box: box)
        await checkCertificateAuthorities(&outcome)
        outcome.plan.diagnostics.sort()
        return outcome
    }

    /// GetCACert against each CA that is new or has a new URL (Fleet checks on every
    /// add and URL edit). A failure is a diagnostic naming the CA's file.
    private func checkCertificateAuthorities(_ outcome: inout Outcome) async {
        let targets = outcome.plan.changes.indices.filter { index in
            let change = outcome.plan.changes[index]
            return change.kind == .certificateAuthority
                && (change.action == .create || change.action == .replace
                    || change.fields.contains { $0.path == "url" })
        }
        guard !targets.isEmpty, checksNewCAs else { return }
        guard !caCheck.offline else {
            outcome.caCheckNote = "CA check skipped (--offline): \(targets.count) CA URL(s) not checked with GetCACert"
            return
        }
        let urls = Dictionary(
            uniqueKeysWithValues: (outcome.desired?.certificateAuthorities ?? []).map { ($0.name, ($0.url, $0.file)) })
        let client = SCEPHTTPClient.makeHTTPClient()
        let check = CACertificateCheck(client: client, timeout: .seconds(Int64(caCheck.caTimeout)))
        var checked = 0
        for index in targets {
            let name = outcome.plan.changes[index].name
            guard let (url, file) = urls[name] else { continue }
            switch await check.fetch(url) {
            case .success(let certificate):
                outcome.plan.changes[index].caCertificate = certificate.summary
                outcome.certificates[name] = certificate
                checked += 1
            case .failure(let failure):
                outcome.plan.diagnostics.append(
                    .error(
                        .caUnreachable, file: file,
                        "Invalid SCEP URL. Please correct and try again. Certificate authority \"\(name)\": \(failure.message)"))
            }
        }
        try? await client.shutdown()
        outcome.caCheckNote = "CA check: GetCACert answered for \(checked) of \(targets.count) new or changed CA URL(s)"
    }
}

/// Standard output and error, written whole.
enum Output {
    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
    }
}
