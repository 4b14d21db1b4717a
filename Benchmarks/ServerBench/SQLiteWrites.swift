import Foundation
import GRDBSQLite
import SCEPOpsStore

/// The worker's readying as SQLite alone does it: the statements `SQLiteStore` runs to claim
/// a batch of queued commands and record them ready, with the state's pragmas, through
/// SQLite's C API. What readying costs beyond this is ours (GRDB, Swift, the worker).
enum SQLiteWrites {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Seconds to ready every queued command, `batch` at a time.
    static func ready(database path: String, batch: Int) throws -> Double {
        var db: OpaquePointer?
        guard sqlite3_open(path, &db) == SQLITE_OK, let db else { throw Failure(description: "cannot open \(path)") }
        defer { sqlite3_close(db) }
        for pragma in ["PRAGMA foreign_keys = ON", "PRAGMA synchronous = FULL", "PRAGMA cache_size = -32768",
            "PRAGMA wal_autocheckpoint = 8192"]
        {
            try run(db, pragma)
        }
        let select = try prepare(
            db,
            """
            SELECT o.id, o.host_uuid, o.profile_uuid, o.request_type, p.content
            FROM command_outbox o
            LEFT JOIN profile p ON p.uuid = o.profile_uuid
            WHERE o.command_uuid IS NULL AND o.status = 'queued'
                AND (o.not_before IS NULL OR o.not_before <= ?1) AND (o.claimed_until IS NULL OR o.claimed_until <= ?1)
            ORDER BY o.id LIMIT ?2
            """)
        let claim = try prepare(db, "UPDATE command_outbox SET claimed_until = ? WHERE id = ?")
        let cas = try prepare(db, "SELECT ca_name FROM profile_certificate_authority WHERE profile_uuid = ? ORDER BY ca_name")
        let outbox = try prepare(db, "UPDATE command_outbox SET command_uuid = ?, updated_at = ? WHERE id = ? AND command_uuid IS NULL")
        let delivery = try prepare(
            db,
            """
            UPDATE host_profile SET status = 'sent', command_uuid = ?, acknowledged_at = NULL, updated_at = ?
            WHERE host_uuid = ? AND profile_uuid = ?
            """)
        let due = try prepare(db, "UPDATE host SET push_due_at = ? WHERE uuid = ? AND push_due_at IS NULL")
        let tokens = try prepare(
            db, "INSERT INTO proxy_token (token, host_uuid, profile_uuid, ca_name, expires_at) VALUES (?, ?, ?, ?, ?)")
        defer { for statement in [select, claim, cas, outbox, delivery, due, tokens] { sqlite3_finalize(statement) } }

        let began = ContinuousClock.now
        let now = Date()
        let stamp = now.ISO8601Format()
        let until = now.addingTimeInterval(60).ISO8601Format()
        let expires = now.addingTimeInterval(3600).ISO8601Format()
        while true {
            var claimed: [(id: Int64, host: String, profile: String)] = []
            try run(db, "BEGIN IMMEDIATE")
            bind(select, [stamp, Int64(batch)])
            while sqlite3_step(select) == SQLITE_ROW {
                claimed.append((sqlite3_column_int64(select, 0), text(select, 1), text(select, 2)))
            }
            sqlite3_reset(select)
            for row in claimed { try step(claim, [until, row.id]) }
            for profile in Set(claimed.map(\.profile)) {
                bind(cas, [profile])
                while sqlite3_step(cas) == SQLITE_ROW {}
                sqlite3_reset(cas)
            }
            try run(db, "COMMIT")
            if claimed.isEmpty { break }
            try run(db, "BEGIN IMMEDIATE")
            var marked = Set<String>()
            for row in claimed {
                let command = SecretBox.randomUUID()
                try step(outbox, [command, stamp, row.id])
                try step(delivery, [command, stamp, row.host, row.profile])
                if marked.insert(row.host).inserted { try step(due, [stamp, row.host]) }
                try step(tokens, [SecretBox.randomToken(), row.host, row.profile, "wifi-ca", expires])
            }
            try run(db, "COMMIT")
        }
        let elapsed = ContinuousClock.now - began
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    private static func prepare(_ db: OpaquePointer, _ sql: String) throws -> OpaquePointer {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK, let statement else {
            throw Failure(description: String(cString: sqlite3_errmsg(db)))
        }
        return statement
    }

    private static func run(_ db: OpaquePointer, _ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw Failure(description: String(cString: sqlite3_errmsg(db))) }
    }

    /// SQLITE_TRANSIENT: SQLite copies the bytes before the Swift string goes.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private static func bind(_ statement: OpaquePointer, _ values: [any Sendable]) {
        for (index, value) in values.enumerated() {
            switch value {
            case let number as Int64: sqlite3_bind_int64(statement, Int32(index + 1), number)
            case let string as String: sqlite3_bind_text(statement, Int32(index + 1), string, -1, transient)
            default: sqlite3_bind_null(statement, Int32(index + 1))
            }
        }
    }

    private static func step(_ statement: OpaquePointer, _ values: [any Sendable]) throws {
        bind(statement, values)
        let result = sqlite3_step(statement)
        sqlite3_reset(statement)
        guard result == SQLITE_DONE else { throw Failure(description: "step: \(result)") }
    }

    private static func text(_ statement: OpaquePointer, _ column: Int32) -> String {
        sqlite3_column_text(statement, column).map { String(cString: $0) } ?? ""
    }
}
