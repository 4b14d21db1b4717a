import Foundation
import SCEPOpsConfig
import SCEPOpsCore
import SCEPOpsServer
import SCEPOpsStore

/// The steps plan, apply and drift share in local mode: read the repo, open the state, and
/// plan with the `Reconciler` the admin API also runs.
struct Reconciliation {
    let repo: RepoOptions
    let state: StateOptions
    let caCheck: CACheckOptions
    let environment: [String: String]
    /// GetCACert against new and changed CA URLs; drift checks every CA its own way.
    var checksNewCAs = true
    /// False for `plan --without-secrets`.
    var readsSecrets = true

    typealias Outcome = Reconciler.Outcome

    var reconciler: Reconciler {
        Reconciler(caCheck: .init(offline: caCheck.offline, timeout: caCheck.caTimeout.wholeSeconds), checksNewCAs: checksNewCAs)
    }

    /// The repo as read, with the secrets expanded from the environment.
    func config() -> UnvalidatedConfig {
        ConfigLoader.load(repo: repo.repo, ref: repo.ref, environment: environment, readsSecrets: readsSecrets)
    }

    /// Opens the state: read-only for plan (`create` false; without a state file nothing
    /// is created and the plan is made against an empty state, with a throwaway key for the
    /// digests), read-write for apply, which creates the state and its key on a first run.
    /// `created` says whether this run made them, so that a failed first run removes them.
    /// `keepsKey`: a plan saved for a later apply, whose secret digests must be made with
    /// the key that apply will use. Without a state or key yet, that key is created now
    /// (and said so); any other read of a missing state seals nothing and uses a throwaway.
    func open(create: Bool, keepsKey: Bool = false) async throws(StoreError) -> Opened {
        let location = try state.location()
        let exists = location.exists
        if !exists, !create {
            if let box = try? state.loadKey(location, create: false, notice: { _ in }) { return Opened(store: nil, box: box) }
            guard keepsKey else { return Opened(store: nil, box: try! SecretBox(key: SecretBox.randomKey())) }
            return Opened(store: nil, box: try state.loadKey(location, create: true, notice: { Output.error($0) }), createdKey: true)
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
        try await reconciler.plan(config(), store: store, box: box)
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
