import Foundation
import GRDB
import SCEPOpsCore

/// Why the MDM channel refuses a device (answered 400, never 401: a 401 unenrolls).
public enum MDMRefusal: Error, Sendable, Hashable {
    case unknownEnrollSecret
    /// The identity already belongs to another host.
    case identityReused
    /// The identity is not the one bound to this host.
    case identityNotBound
    case unknownCommand
}

/// A device's result for a command (apple-mdm-and-apns.md §2).
public enum CommandResult: Sendable, Hashable {
    case acknowledged
    case error(detail: String)
    case notNow
    case idle
}

/// What the check-in and command channel read and write.
public protocol MDMStore: Sendable {
    /// The team whose enroll secret this is.
    func team(enrollSecret: Secret) throws(StoreError) -> String?
    /// At Authenticate: records the host in its team and binds the identity to it.
    func authenticate(host: String, serial: String?, team: String, identity: String) throws(StoreError)
        -> Result<Void, MDMRefusal>
    /// Every later request: the identity must be the host's own.
    func isBound(host: String, identity: String) throws(StoreError) -> Bool
    func updatePush(host: String, token: String, pushMagic: String, topic: String) throws(StoreError)
    /// CheckOut: the host leaves its team.
    func checkOut(host: String) throws(StoreError)
    /// Records a command's result and returns the next command for the host, if any.
    func report(host: String, commandUUID: String?, result: CommandResult) throws(StoreError)
        -> Result<QueuedCommand?, MDMRefusal>
}

extension SQLiteStore: MDMStore {
    public func team(enrollSecret: Secret) throws(StoreError) -> String? {
        try read { db in
            try String.fetchOne(
                db, sql: "SELECT name FROM team WHERE enroll_secret_digest = ?", arguments: [box.digest(enrollSecret)])
        }
    }

    public func authenticate(host: String, serial: String?, team: String, identity: String) throws(StoreError)
        -> Result<Void, MDMRefusal>
    {
        let owner: String? = try read { db in
            try String.fetchOne(db, sql: "SELECT host_uuid FROM device_identity WHERE fingerprint = ?", arguments: [identity])
        }
        if let owner, owner != host { return .failure(.identityReused) }
        try enroll(host: host, serial: serial, team: team)
        do {
            try pool.write { db in
                // A host that enrolls again comes with a new identity: it replaces the old one.
                try db.execute(sql: "DELETE FROM device_identity WHERE host_uuid = ?", arguments: [host])
                try db.execute(
                    sql: "INSERT INTO device_identity (fingerprint, host_uuid, bound_at) VALUES (?, ?, ?)",
                    arguments: [identity, host, Self.timestamp()])
            }
        } catch {
            throw Self.databaseError(error, path: path)
        }
        return .success(())
    }

    public func isBound(host: String, identity: String) throws(StoreError) -> Bool {
        try read { db in
            try String.fetchOne(db, sql: "SELECT host_uuid FROM device_identity WHERE fingerprint = ?", arguments: [identity])
                == host
        }
    }

    public func updatePush(host: String, token: String, pushMagic: String, topic: String) throws(StoreError) {
        do {
            try pool.write { db in
                try db.execute(
                    sql: "UPDATE host SET push_token = ?, push_magic = ?, push_topic = ?, last_seen_at = ? WHERE uuid = ?",
                    arguments: [token, pushMagic, topic, Self.timestamp(), host])
            }
        } catch {
            throw Self.databaseError(error, path: path)
        }
    }

    public func checkOut(host: String) throws(StoreError) {
        try enroll(host: host, serial: nil, team: nil)
    }

    public func report(host: String, commandUUID: String?, result: CommandResult) throws(StoreError)
        -> Result<QueuedCommand?, MDMRefusal>
    {
        do {
            return try pool.write { db in
                let now = Self.timestamp()
                try db.execute(sql: "UPDATE host SET last_seen_at = ? WHERE uuid = ?", arguments: [now, host])
                if result != .idle {
                    guard let commandUUID,
                        let row = try Row.fetchOne(
                            db,
                            sql: "SELECT id, profile_uuid, request_type FROM command_outbox WHERE host_uuid = ? AND command_uuid = ?",
                            arguments: [host, commandUUID])
                    else { return .failure(.unknownCommand) }
                    try record(result, id: row["id"], profile: row["profile_uuid"], type: row["request_type"], host: host, now: now, db)
                }
                // Nothing answered NotNow is offered in reply to that NotNow; a later poll may.
                let skip = result == .notNow ? "AND not_now = 0" : ""
                guard let next = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT id, profile_uuid, request_type, command_uuid, payload FROM command_outbox
                        WHERE host_uuid = ? AND payload IS NOT NULL AND status IN ('queued', 'sent') \(skip)
                        ORDER BY id LIMIT 1
                        """, arguments: [host])
                else { return .success(nil) }
                try db.execute(
                    sql: "UPDATE command_outbox SET status = 'sent', not_now = 0, updated_at = ? WHERE id = ?",
                    arguments: [now, next["id"] as Int64])
                let payload: Data = next["payload"]
                return .success(
                    QueuedCommand(
                        profile: next["profile_uuid"], type: next["request_type"], commandUUID: next["command_uuid"],
                        payload: [UInt8](payload)))
            }
        } catch {
            throw Self.databaseError(error, path: path)
        }
    }

    private func record(
        _ result: CommandResult, id: Int64, profile: String, type: String, host: String, now: String, _ db: Database
    ) throws {
        switch result {
        case .acknowledged:
            try db.execute(sql: "UPDATE command_outbox SET status = 'acknowledged', updated_at = ? WHERE id = ?", arguments: [now, id])
            if type == "RemoveProfile" {
                try db.execute(
                    sql: "DELETE FROM host_profile WHERE host_uuid = ? AND profile_uuid = ? AND operation = 'remove'",
                    arguments: [host, profile])
            } else {
                // Installed: the proxy URL is spent; ProfileList will mark it verified.
                try db.execute(
                    sql: "UPDATE host_profile SET acknowledged_at = ?, updated_at = ? WHERE host_uuid = ? AND profile_uuid = ?",
                    arguments: [now, now, host, profile])
            }
        case .error(let detail):
            try db.execute(sql: "UPDATE command_outbox SET status = 'error', updated_at = ? WHERE id = ?", arguments: [now, id])
            try db.execute(
                sql: "UPDATE host_profile SET status = 'failed', detail = ?, updated_at = ? WHERE host_uuid = ? AND profile_uuid = ?",
                arguments: [detail, now, host, profile])
        case .notNow:
            try db.execute(sql: "UPDATE command_outbox SET status = 'queued', not_now = 1, updated_at = ? WHERE id = ?", arguments: [now, id])
        case .idle:
            break
        }
    }
}
