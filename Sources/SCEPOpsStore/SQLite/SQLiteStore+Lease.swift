import Foundation
import GRDB
import SCEPOpsCore

extension SQLiteStore: LeaseStore {
    public func acquireLease(_ lease: Lease) async throws(StoreError) -> String? {
        let deadline = Date().addingTimeInterval(lease.wait)
        while true {
            do {
                // A held lease is seen by a read, which no writer blocks: the answer
                // "locked by …" comes at once even while the holder's transaction runs.
                try await read { db in _ = try Self.holder(lease, db, now: Date()) }
                return try await write { db in try Self.take(lease, db) }
            } catch where error.code == .locked && Date() < deadline {
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    public func recordLeaseCommit(_ commit: String?, owner: String) async throws(StoreError) {
        try await write { db in
            try db.execute(sql: "UPDATE lock_lease SET commit_sha = ? WHERE id = 1 AND owner = ?", arguments: [commit, owner])
        }
    }

    public func releaseLease(owner: String) async throws(StoreError) {
        try await write { db in
            try db.execute(sql: "DELETE FROM lock_lease WHERE id = 1 AND owner = ?", arguments: [owner])
        }
    }

    /// In one write transaction: free, expired or orphaned, the lease is ours; held, it
    /// is an error that names the holder.
    private static func take(_ lease: Lease, _ db: Database) throws -> String? {
        let now = Date()
        let note = try holder(lease, db, now: now)
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO lock_lease (id, owner, host, pid, commit_sha, acquired_at, expires_at)
                VALUES (1, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [lease.owner, lease.host, lease.pid, lease.commit, Self.timestamp(now),
                Self.timestamp(now.addingTimeInterval(lease.ttl))])
        return note
    }

    /// Nil when the lease is free; a note when it may be taken over; `.locked` otherwise.
    private static func holder(_ lease: Lease, _ db: Database, now: Date) throws -> String? {
        let holder = try Row.fetchOne(db, sql: "SELECT * FROM lock_lease WHERE id = 1").map { row in
            LeaseCheck.Holder(
                owner: row["owner"], host: row["host"], pid: row["pid"], commit: row["commit_sha"], acquiredAt: row["acquired_at"],
                expiresAt: row["expires_at"])
        }
        // A holder on this machine whose process is gone (killed mid-apply) left nothing
        // behind but the lease: its transaction rolled back.
        let gone = holder.map { $0.host == lease.host && kill($0.pid, 0) != 0 && errno == ESRCH } ?? false
        switch LeaseCheck.decide(holder, now: now, processGone: gone) {
        case .free: return nil
        case .takeOver(let note): return note
        case .held(let message): throw StoreError(.locked, message)
        }
    }
}
