import ArgumentParser
import Foundation
import SCEPOpsStore

/// `scepops state …`: whole-state operations.
struct StateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state", abstract: "Operate on a whole state.", subcommands: [Copy.self])

    /// `scepops state copy --from A --to B`: the whole state, history included, into an empty
    /// target on either backend, checked row by row.
    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "copy", abstract: "Copy a whole state (history included) into an empty one, e.g. SQLite to PostgreSQL.",
            discussion: """
                FROM and TO are each a SQLite file or a postgres:// URL (a password from the URL or $PGPASSWORD). Both use \
                the same secret key ($SCEPOPS_SECRET_KEY or --key-file; a SQLite source's default <db>.key is copied beside \
                a SQLite target). TO must be empty: a new file, or a database with no state or an empty one. Nothing is \
                written unless all of it is, and the row counts are checked after.

                Examples:
                  SCEPOPS_SECRET_KEY=$(cat scepops.db.key) scepops state copy --from scepops.db --to postgres://scepops@db:5432/scepops
                """)

        @Option(help: "The state to copy: a SQLite file or a postgres:// URL.")
        var from: String

        @Option(help: "The empty state to copy into: a SQLite file or a postgres:// URL.")
        var to: String

        @Option(help: "A file holding the secret key, base64 of 32 bytes (default: $SCEPOPS_SECRET_KEY, else <from>.key).")
        var keyFile: String?

        func run() async throws {
            var source = StateOptions()
            source.db = from
            source.keyFile = keyFile
            var target = StateOptions()
            target.db = to
            target.keyFile = keyFile
            let (store, box) = try await source.openExisting()
            var createdFile: String?
            var createdKey = false
            do {
                let destination = try target.location()
                let explicitKey = keyFile != nil || ProcessInfo.processInfo.environment[SecretKeyLoader.environmentVariable] != nil
                if case .file(let path) = destination {
                    guard !destination.exists else {
                        throw StoreError(.database, "the target state \(path) exists; copy into a new file")
                    }
                    if !explicitKey, case .file(let origin) = try source.location() {
                        try SecretKeyLoader.copyDefaultKey(from: origin, to: path)
                        createdKey = true
                    }
                    createdFile = path
                }
                let copy = try await destination.open(box: box, access: .readWrite)
                let snapshot = try await store.snapshot()
                try await copy.restore(snapshot)
                let copied = try await copy.snapshot()
                guard copied.counts == snapshot.counts, copied.revision == snapshot.revision else {
                    throw StoreError(.corrupt, "the copy's row counts differ from the source's; the target is not to be used")
                }
                let counts = StateSnapshot.tables.map { "\($0.name) \(snapshot.counts[$0.name] ?? 0)" }.joined(separator: ", ")
                Output.write(
                    "Copied the state \(source.shown) to \(target.shown) at revision \(snapshot.revision); rows match: \(counts).\n")
            } catch let error as StoreError {
                if let createdFile {
                    SQLiteStore.removeFiles(createdFile)
                    if createdKey { unlink(SecretKeyLoader.defaultKeyPath(database: createdFile)) }
                }
                Output.error("error[\(error.code.rawValue)]: \(error.message)")
                throw ExitStatus.failure
            }
        }
    }
}
