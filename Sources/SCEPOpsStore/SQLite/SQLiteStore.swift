import Foundation
import GRDB
import SCEPOpsCore

/// The embedded default backend: one SQLite file in WAL mode, with foreign keys, a busy
/// timeout and versioned migrations.
public final class SQLiteStore: @unchecked Sendable {
    let pool: any DatabaseWriter
    /// The hottest reads, for a server on the state (`readWrite`).
    let quick: QuickReader?
    let box: SecretBox
    public let path: String

    public typealias Access = StateAccess

    /// The key check sealed into the state on first use: a wrong key is told at open,
    /// before it could be used for anything.
    static let keyCheck = Array("scepops key check".utf8)

    /// `PRAGMA application_id` of a scepops state ("SCPO"): how another program's SQLite
    /// file, or an empty one, is told apart from ours.
    static let applicationID: Int32 = 0x5343_504F

    public init(path: String, box: SecretBox, busyTimeout: TimeInterval = 5, access: Access = .readWrite) throws(StoreError) {
        self.path = path
        self.box = box
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.foreignKeysEnabled = true
        do {
            switch access {
            case .readWrite:
                // Recognised before the pool opens it: opening in WAL mode writes the file.
                let created = try Self.createIfMissing(path)
                let current = try !created && Self.recognise(Self.openReadOnly(path, configuration), path: path)
                configuration.prepareDatabase { db in
                    try db.execute(sql: "PRAGMA synchronous = FULL")
                    // 32 MiB of pages a connection (SQLite's default is 2): the worker's batches
                    // touch a page of tokens and of deliveries per command, and with the default
                    // SQLite spilled and re-read them mid-transaction.
                    try db.execute(sql: "PRAGMA cache_size = -32768")
                    // A checkpoint every 32 MiB of WAL rather than 4: the worker's batches write
                    // the same pages again and again, and each checkpoint copied them anew.
                    try db.execute(sql: "PRAGMA wal_autocheckpoint = 8192")
                }
                pool = try DatabasePool(path: path, configuration: configuration)
                // A read never suspends, so the cooperative threads (one per core) use one
                // connection each; capped, as each holds three descriptors.
                quick = QuickReader(path: path, limit: min(16, ProcessInfo.processInfo.activeProcessorCount + 2))
                if !current { try Schema.migrator.migrate(pool) }
            case .readOnly:
                pool = try Self.openReadOnly(path, configuration)
                quick = nil
                guard try Self.recognise(pool, path: path) else {
                    throw StoreError(.database, "the state database \(path) has an older schema; `scepops apply` or `scepops serve` upgrades it")
                }
            }
            let sealed = try pool.read { db in
                try Data.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'key_check'")
            }
            if let sealed {
                guard (try? box.open([UInt8](sealed))) == Self.keyCheck else { throw SecretBox.wrongKey }
            } else if access == .readWrite {
                try pool.write { db in
                    try db.execute(
                        sql: "INSERT OR IGNORE INTO meta (key, value) VALUES ('key_check', ?)",
                        arguments: [Data(box.seal(Self.keyCheck))])
                }
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw Self.databaseError(error, path: path)
        }
    }

    /// A new state file is made here, exclusively and with mode 0600, before SQLite opens
    /// it: it holds live one-time tokens, and SQLite gives `-wal` and `-shm` the mode of the
    /// database file. Returns whether it was made.
    private static func createIfMissing(_ path: String) throws(StoreError) -> Bool {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        if descriptor >= 0 {
            close(descriptor)
            return true
        }
        guard errno == EEXIST else {
            throw StoreError(.database, "cannot create the state database \(path): \(String(cString: strerror(errno)))")
        }
        return false
    }

    /// Read-only without writing anything: while a `-wal` file exists a writer has the
    /// state open, and SQLite reads through its shared memory (`mode=ro`); with none, no
    /// connection is open and the file is read as it stands (`immutable=1`), which needs
    /// no `-shm` and so works for a user who may only read, and on a read-only mount.
    static func readOnlyURI(_ path: String) -> String {
        let allowed = CharacterSet.urlPathAllowed.subtracting(CharacterSet(charactersIn: "?#%"))
        let encoded = path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path
        let live = FileManager.default.fileExists(atPath: path + "-wal")
        return "file:\(encoded)?" + (live ? "mode=ro" : "mode=ro&immutable=1")
    }

    private static func openReadOnly(_ path: String, _ configuration: Configuration) throws -> DatabaseQueue {
        var configuration = configuration
        configuration.readonly = true
        return try DatabaseQueue(path: readOnlyURI(path), configuration: configuration)
    }

    /// Refuses what is not a scepops state (an empty file, another program's database) and a
    /// state from a newer scepops. Returns whether the schema is current.
    private static func recognise(_ reader: any DatabaseReader, path: String) throws -> Bool {
        let migrator = Schema.migrator
        // Reads only: opening a current state must not wait on another process's write
        // transaction (an apply in progress), only a migration may.
        let (ours, applied) = try reader.read { db -> (Bool, Set<String>) in
            let id = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
            // States from before the application id: our own migrations table and meta.
            let migrations = try db.tableExists("grdb_migrations")
            let meta = try db.tableExists("meta")
            let revision =
                try meta && (Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM meta WHERE key = 'revision')") ?? false)
            let legacy = id == 0 && migrations && revision
            let applied = migrations ? try migrator.appliedIdentifiers(db) : []
            return (id == applicationID || legacy, applied)
        }
        guard ours else {
            throw StoreError(
                .notAState,
                "\(path) is not a scepops state (an empty file or another program's database); nothing was changed. Point --db at a scepops state, or at a path that does not exist yet")
        }
        let known = Set(migrator.migrations)
        guard applied.isSubset(of: known) else {
            throw StoreError(
                .newerSchema,
                "the state database \(path) was written by a newer scepops (schema \(applied.subtracting(known).sorted().joined(separator: ", "))); use that version or a later one")
        }
        return applied == known
    }

    /// Removes a state file and its `-wal` and `-shm`: what a refused or failed first apply
    /// made is not left behind.
    public static func removeFiles(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
    }

    static func databaseError(_ error: Error, path: String) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? DatabaseError {
            if error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
                return StoreError(.busy, "the state database \(path) is busy: another process holds its write lock")
            }
            return StoreError(.database, "the state database \(path): \(error.message ?? "\(error.resultCode)")")
        }
        return StoreError(.database, "the state database \(path): \(error)")
    }

    /// Reads on GRDB's own queue, off the cooperative threads, which it never blocks.
    func read<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do { return try await pool.read(body) } catch { throw Self.databaseError(error, path: path) }
    }

    /// One statement, read without a transaction around it: SQLite reads a statement from
    /// one snapshot, and the BEGIN and COMMIT cost the hottest reads (Idle polls) a fifth.
    func readStatement<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do { return try await pool.unsafeRead(body) } catch { throw Self.databaseError(error, path: path) }
    }

    /// The statement's first row, still live while `decode` reads it (`StatementRow` reads
    /// its text whole then).
    static func firstRow<T>(_ statement: Statement, _ arguments: StatementArguments, _ decode: (Row?) throws -> T) throws -> T {
        let cursor = try Row.fetchCursor(statement, arguments: arguments)
        return try withExtendedLifetime(cursor) { try decode(cursor.next()) }
    }

    /// Writes in one transaction on GRDB's writer queue, off the cooperative threads.
    func write<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do { return try await pool.write(body) } catch { throw Self.databaseError(error, path: path) }
    }

    static func timestamp(_ date: Date = Date()) -> String {
        date.ISO8601Format()
    }

    static func date(_ text: String?) -> Date? {
        text.flatMap { try? Date($0, strategy: .iso8601) }
    }
}

extension SQLiteStore: HealthCheck {
    public func checkHealth() async throws(StoreError) {
        try await read { db in _ = try Int.fetchOne(db, sql: "SELECT 1") }
    }
}

// MARK: - Reading the state

extension SQLiteStore: StateReader {
    public func currentState() async throws(StoreError) -> CurrentState {
        try await read { db in
            var state = CurrentState(revision: try Self.revision(db))
            for row in try Row.fetchAll(
                db, sql: "SELECT name, url, challenge_digest, file, renewal_before, renewal_max_per_hour FROM certificate_authority")
            {
                let name: String = row["name"]
                state.certificateAuthorities[name] = CertificateAuthorityState(
                    name: name, url: row["url"], challengeDigest: row["challenge_digest"], file: row["file"],
                    renewal: RenewalSettings(before: (row["renewal_before"] as Int?).map(Double.init), maximumPerHour: row["renewal_max_per_hour"]))
            }
            for row in try Row.fetchAll(db, sql: "SELECT name, enroll_secret_digest, file FROM team") {
                let name: String = row["name"]
                state.teams[name] = TeamState(name: name, enrollSecretDigest: row["enroll_secret_digest"], file: row["file"])
            }
            var cas: [String: [String]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT profile_uuid, ca_name FROM profile_certificate_authority ORDER BY ca_name") {
                cas[row["profile_uuid"], default: []].append(row["ca_name"])
            }
            for row in try Row.fetchAll(db, sql: "SELECT uuid, team, identifier, path, content FROM profile") {
                let key = ProfileKey(team: row["team"], identifier: row["identifier"])
                let content: Data = row["content"]
                state.profiles[key] = ProfileState(
                    key: key, path: row["path"], content: [UInt8](content), certificateAuthorities: cas[row["uuid"]] ?? [])
            }
            for row in try Row.fetchAll(db, sql: "SELECT team, COUNT(*) AS hosts FROM host WHERE team IS NOT NULL GROUP BY team") {
                state.hostCounts[row["team"]] = row["hosts"]
            }
            return state
        }
    }

    static func revision(_ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'revision'") ?? 0
    }

    /// The challenge of a CA, decrypted: for the server's renderer, never for output.
    public func challenge(of name: String) async throws(StoreError) -> Secret? {
        let sealed = try await read { db in
            try Data.fetchOne(db, sql: "SELECT challenge_sealed FROM certificate_authority WHERE name = ?", arguments: [name])
        }
        guard let sealed else { return nil }
        return try box.openSecret([UInt8](sealed))
    }
}
