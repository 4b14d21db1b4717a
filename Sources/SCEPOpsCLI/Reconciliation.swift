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
        /// Kinds the plan deletes every one of (`DestroyGuard`).
        var emptied: [PlannedChange.Kind] = []

        var binding: PlanDocument.Binding? {
            desired.map { PlanBinding.make(plan, $0, box) }
        }
    }

    /// Opens the state: read-only for plan (`create` false; without a state file nothing
    /// is created and the plan is made against an empty state, with a throwaway key for the
    /// digests), read-write for apply, which creates the state and its key on a first run.
    /// `created` says whether this run made them, so that a failed first run removes them.
    func open(create: Bool) async throws(StoreError) -> Opened {
        let location = try state.location()
        let exists = location.exists
        if !exists, !create {
            let box =
                (try? state.loadKey(location, create: false, notice: { _ in })) ?? (try! SecretBox(key: SecretBox.randomKey()))
            return Opened(store: nil, box: box)
        }
        var keyNotice: String?
        let box = try state.loadKey(location, create: !exists, notice: { keyNotice = $0 })
        do {
            let store = try await location.open(box: box, access: create ? .readWrite : .readOnly)
            if let keyNotice { Output.error(keyNotice) }
            return Opened(store: store, box: box, createdState: !exists, createdKey: keyNotice != nil)
        } catch where error.code == .notAState && !create {
            // A database server with no scepops state in it yet: plan against an empty one.
            guard case .postgres = location else { throw error }
            return Opened(store: nil, box: box)
        } catch {
            if !exists { Self.removeFirstRun(state.path, key: keyNotice != nil) }
            throw error
        }
    }

    struct Opened {
        var store: (any StateBackend)?
        var box: SecretBox
        var createdState = false
        var createdKey = false

        /// Undoes a first run that failed or was refused.
        func removeIfCreated(_ path: String) {
            if createdState { Reconciliation.removeFirstRun(path, key: createdKey) }
        }
    }

    /// Undoes a first run that failed or was refused: the state it created and, when this
    /// run made it, the default key file.
    static func removeFirstRun(_ path: String, key: Bool) {
        SQLiteStore.removeFiles(path)
        if key { unlink(SecretKeyLoader.defaultKeyPath(database: path)) }
    }

    /// Plans against the state `open` gave (nil: an empty one that does not exist yet).
    func run(store: (any StateBackend)?, box: SecretBox) async throws(StoreError) -> Outcome {
        let config = ConfigLoader.load(repo: repo.repo, ref: repo.ref, environment: environment)
        let validation = ConfigValidator.validate(config)
        let current = try await store?.currentState() ?? .empty

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
        let emptied = DestroyGuard.emptied(desired, current)
        if let warning = DestroyGuard.warning(emptied, current) { plan.diagnostics.append(warning) }
        var outcome = Outcome(plan: plan, desired: desired, box: box, emptied: emptied)
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
