import Foundation
import GRDB
import SCEPOpsCore

/// The embedded default backend: one SQLite file in WAL mode, with foreign keys, a busy
/// timeout and versioned migrations.
public final class SQLiteStore: @unchecked Sendable {
    let pool: DatabasePool
    let box: SecretBox
    public let path: String

    /// The key check sealed into the state on first use: a wrong key is told at open,
    /// before it could be used for anything.
    static let keyCheck = Array("scepops key check".utf8)

    /// `readOnly`: for a reader that promises not to write (drift): an outdated schema is
    /// an error instead of a migration.
    public init(path: String, box: SecretBox, busyTimeout: TimeInterval = 5, readOnly: Bool = false) throws(StoreError) {
        self.path = path
        self.box = box
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.foreignKeysEnabled = true
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // Reads first: opening a current state must not wait on another process's
            // write transaction (an apply in progress), only a migration may.
            if try !pool.read({ try Schema.migrator.hasCompletedMigrations($0) }) {
                guard !readOnly else {
                    throw StoreError(.database, "the state database \(path) has an older schema; `scepops apply` or `scepops serve` upgrades it")
                }
                try Schema.migrator.migrate(pool)
            }
            let sealed = try pool.read { db in
                try Data.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'key_check'")
            }
            if let sealed {
                guard (try? box.open([UInt8](sealed))) == Self.keyCheck else { throw SecretBox.wrongKey }
            } else if !readOnly {
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

    static func databaseError(_ error: Error, path: String) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? DatabaseError {
            return StoreError(.database, "the state database \(path): \(error.message ?? "\(error.resultCode)")")
        }
        return StoreError(.database, "the state database \(path): \(error)")
    }

    func read<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do { return try pool.read(body) } catch { throw Self.databaseError(error, path: path) }
    }

    static func timestamp(_ date: Date = Date()) -> String {
        date.ISO8601Format()
    }
}

// MARK: - Reading the state

extension SQLiteStore: StateReader {
    public func currentState() throws(StoreError) -> CurrentState {
        try read { db in
            var state = CurrentState(revision: try Self.revision(db))
            for row in try Row.fetchAll(db, sql: "SELECT name, url, challenge_digest, file FROM certificate_authority") {
                let name: String = row["name"]
                state.certificateAuthorities[name] = CertificateAuthorityState(
                    name: name, url: row["url"], challengeDigest: row["challenge_digest"], file: row["file"])
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
    public func challenge(of name: String) throws(StoreError) -> Secret? {
        let sealed = try read { db in
            try Data.fetchOne(db, sql: "SELECT challenge_sealed FROM certificate_authority WHERE name = ?", arguments: [name])
        }
        guard let sealed else { return nil }
        return try box.openSecret([UInt8](sealed))
    }
}
