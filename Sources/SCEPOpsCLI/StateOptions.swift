import ArgumentParser
import Foundation
import SCEPOpsStore

/// Where the state lives and how its secrets are unlocked.
struct StateOptions: ParsableArguments {
    @Option(help: "The SQLite state file (default: $SCEPOPS_DB, else scepops.db).")
    var db: String?

    @Option(help: "A file holding the secret key, base64 of 32 bytes (default: $SCEPOPS_SECRET_KEY, else <db>.key).")
    var keyFile: String?

    var path: String {
        db ?? ProcessInfo.processInfo.environment["SCEPOPS_DB"] ?? "scepops.db"
    }

    /// Opens a state that must exist already (read-only for the commands that only read
    /// it); says what is wrong and exits 1 otherwise.
    func openExisting(access: SQLiteStore.Access = .readOnly) throws -> (SQLiteStore, SecretBox) {
        guard FileManager.default.fileExists(atPath: path) else {
            Output.error("error: there is no state at \(path); `scepops apply` creates it")
            throw ExitStatus.failure
        }
        do {
            let box = try SecretKeyLoader.load(
                environment: ProcessInfo.processInfo.environment, keyFile: keyFile, database: path, create: false,
                notice: { _ in })
            return (try SQLiteStore(path: path, box: box, access: access), box)
        } catch {
            Output.error("error[\(error.code.rawValue)]: \(error.message)")
            throw ExitStatus.failure
        }
    }
}

/// The live GetCACert check: of new and changed CA URLs in plan and apply, of every
/// applied CA in drift.
struct CACheckOptions: ParsableArguments {
    @Flag(help: "Skip the live GetCACert check (plan, apply: new and changed CA URLs; drift: every applied CA).")
    var offline = false

    @Option(help: "Seconds to wait for a CA to answer GetCACert.")
    var caTimeout: Int = 30
}
