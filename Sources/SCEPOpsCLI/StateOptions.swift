import ArgumentParser
import Foundation
import SCEPOpsStore

/// Where the state lives and how its secrets are unlocked.
struct StateOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The state: a SQLite file, or postgres://user@host:port/database?sslmode=disable|prefer|require (default: $SCEPOPS_DB, else scepops.db).",
            discussion: "A PostgreSQL password comes from the URL or $PGPASSWORD; it is masked in every message."))
    var db: String?

    @Option(help: "A file holding the secret key, base64 of 32 bytes (default: $SCEPOPS_SECRET_KEY, else <db>.key for a SQLite file).")
    var keyFile: String?

    /// As given: a path or a URL. Never printed as such: `location` masks a password.
    var path: String {
        db ?? ProcessInfo.processInfo.environment["SCEPOPS_DB"] ?? "scepops.db"
    }

    /// For messages: the path, or the URL with its password masked.
    var shown: String {
        (try? location())?.description ?? PostgresLocation.mask(path)
    }

    func location() throws(StoreError) -> StateLocation {
        try StateLocation(path)
    }

    /// The secret key. A SQLite state keeps a default key file beside it; a PostgreSQL state
    /// is shared by machines that must all hold the same key, so it is always given.
    func loadKey(_ location: StateLocation, create: Bool, notice: (String) -> Void) throws(StoreError) -> SecretBox {
        let environment = ProcessInfo.processInfo.environment
        if case .postgres = location, keyFile == nil, environment[SecretKeyLoader.environmentVariable] == nil {
            throw StoreError(
                .keyFile,
                "a PostgreSQL state takes its secret key from $SCEPOPS_SECRET_KEY or --key-file (base64 of 32 bytes, e.g. `openssl rand -base64 32`): every machine that opens it needs the same key")
        }
        return try SecretKeyLoader.load(
            environment: environment, keyFile: keyFile, database: path, create: create, notice: notice)
    }

    /// Opens a state that must exist already (read-only for the commands that only read
    /// it); says what is wrong and exits 1 otherwise. With `creating`, a state that is not
    /// there yet is created empty, with its key: serve may come first, and remote mode's
    /// first apply fills it.
    func openExisting(access: StateAccess = .readOnly, creating: Bool = false) async throws -> (any StateBackend, SecretBox) {
        do {
            let location = try location()
            let exists = location.exists
            guard exists || creating else {
                Output.error("error: there is no state at \(location); `scepops apply` creates it")
                throw ExitStatus.failure
            }
            let box = try loadKey(location, create: !exists, notice: { Output.error($0) })
            let store = try await location.open(box: box, access: access)
            if !exists { Output.error("scepops: created an empty state at \(location)") }
            return (store, box)
        } catch let error as StoreError {
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

    @Option(help: "How long to wait for a CA to answer GetCACert.")
    var caTimeout: DurationArgument = .seconds(30)
}
