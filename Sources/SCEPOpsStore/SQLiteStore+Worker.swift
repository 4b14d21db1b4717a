import Foundation
import GRDB
import SCEPOpsCore

/// A queued host command, not yet rendered.
public struct PendingCommand: Sendable, Hashable {
    public var id: Int64
    public var host: String
    public var profile: String
    public var type: HostCommandKind
    /// For an install: the profile's bytes and the CAs it uses; nil when the profile is gone.
    public var content: [UInt8]?
    public var certificateAuthorities: [String]
}

/// A queued command the worker made ready: its CommandUUID and, for an install through
/// the proxy, the one-time token its URL will carry. It is rendered when fetched.
public struct AssignedCommand: Sendable, Hashable {
    public var id: Int64
    public var host: String
    public var profile: String
    public var commandUUID: String
    public var token: String?
    public var certificateAuthority: String?

    public init(id: Int64, host: String, profile: String, commandUUID: String, token: String?, certificateAuthority: String?) {
        self.id = id
        self.host = host
        self.profile = profile
        self.commandUUID = commandUUID
        self.token = token
        self.certificateAuthority = certificateAuthority
    }
}

/// What the profile worker reads and writes.
public protocol DeliveryStore: Sendable {
    /// Drops each unassigned command that a later one for the same host and profile
    /// supersedes, so a host gets the latest only. Once per cycle, before rendering.
    func dropSupersededCommands() throws(StoreError)
    /// Unassigned commands in queue order, at most `limit`, leaving those whose backoff
    /// runs past `now`.
    func pendingCommands(limit: Int, now: Date) throws(StoreError) -> [PendingCommand]
    /// Writes a batch in one transaction: the command's uuid, its token, the delivery `sent`.
    func recordAssigned(_ commands: [AssignedCommand], tokenLifetime: TimeInterval) throws(StoreError)
    /// Marks a delivery failed, with the reason a user will read.
    func failDelivery(_ command: PendingCommand, detail: String) throws(StoreError)
    /// The CA's challenge, decrypted, for rendering only.
    func challenge(of name: String) throws(StoreError) -> Secret?
    /// Queues ProfileList for enrolled hosts last asked before `cutoff`; returns how many.
    func queueProfileLists(before cutoff: Date, limit: Int) throws(StoreError) -> Int
    /// Hosts given commands that have not been pushed yet, with a live token, at most
    /// `limit`. Marked in the same transaction as their commands, so a server that dies
    /// between the two pushes them after its restart. Hosts due but without a live token
    /// are let go: there is nothing to push to.
    func pushesDue(limit: Int) throws(StoreError) -> [PushTarget]
    /// The hosts APNs took, refused or failed for good: no longer due.
    func pushesDone(hosts: [String]) throws(StoreError)
    func markPushStale(host: String) throws(StoreError)
    /// Commands queued or sent and not yet answered.
    func queueDepth() throws(StoreError) -> Int
}

/// A host's APNs token (hex) and the PushMagic its pushes carry.
public struct PushTarget: Sendable, Hashable {
    public var host: String
    public var token: String
    public var pushMagic: String
}

extension SQLiteStore: DeliveryStore {
    public func dropSupersededCommands() throws(StoreError) {
        do {
            try pool.write { db in
                // Superseded: a later unassigned row for the same host and profile exists.
                // The unary `+` keeps SQLite off the unique index on command_uuid for the inner
                // search (every NULL is in it, which made this quadratic): it looks the
                // delivery up by (host, profile, id) instead.
                try db.execute(
                    sql: """
                        DELETE FROM command_outbox AS o
                        WHERE o.command_uuid IS NULL AND EXISTS (
                            SELECT 1 FROM command_outbox n
                            WHERE n.host_uuid = o.host_uuid AND n.profile_uuid = o.profile_uuid AND n.id > o.id
                                AND +n.command_uuid IS NULL)
                        """)
            }
        } catch {
            throw Self.databaseError(error, path: path)
        }
    }

    public func pendingCommands(limit: Int, now: Date) throws(StoreError) -> [PendingCommand] {
        do {
            return try pool.read { db in
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT o.id, o.host_uuid, o.profile_uuid, o.request_type, p.content
                        FROM command_outbox o
                        LEFT JOIN profile p ON p.uuid = o.profile_uuid
                        WHERE o.command_uuid IS NULL AND o.status = 'queued'
                            AND (o.not_before IS NULL OR o.not_before <= ?)
                        ORDER BY o.id LIMIT ?
                        """, arguments: [Self.timestamp(now), limit])
                var cas: [String: [String]] = [:]
                let profiles = Set(rows.map { $0["profile_uuid"] as String })
                for profile in profiles {
                    cas[profile] = try String.fetchAll(
                        db, sql: "SELECT ca_name FROM profile_certificate_authority WHERE profile_uuid = ? ORDER BY ca_name",
                        arguments: [profile])
                }
                return rows.map { row in
                    let content: Data? = row["content"]
                    let profile: String = row["profile_uuid"]
                    return PendingCommand(
                        id: row["id"], host: row["host_uuid"], profile: profile, type: row["request_type"],
                        content: content.map { [UInt8]($0) },
                        certificateAuthorities: cas[profile] ?? [])
                }
            }
        } catch {
            throw Self.databaseError(error, path: path)
        }
    }

    public func recordAssigned(_ commands: [AssignedCommand], tokenLifetime: TimeInterval) throws(StoreError) {
        guard !commands.isEmpty else { return }
        let now = Date()
        let stamp = Self.timestamp(now)
        let expires = Self.timestamp(now.addingTimeInterval(tokenLifetime))
        do {
            try pool.write { db in
                // Prepared once per batch: this runs for every command of every host.
                let outbox = try db.cachedStatement(
                    sql: "UPDATE command_outbox SET command_uuid = ?, updated_at = ? WHERE id = ?")
                let delivery = try db.cachedStatement(
                    sql: """
                        UPDATE host_profile SET status = 'sent', command_uuid = ?, acknowledged_at = NULL, updated_at = ?
                        WHERE host_uuid = ? AND profile_uuid = ?
                        """)
                let due = try db.cachedStatement(sql: "UPDATE host SET push_due_at = ? WHERE uuid = ? AND push_due_at IS NULL")
                let tokens = try db.cachedStatement(
                    sql: "INSERT INTO proxy_token (token, host_uuid, profile_uuid, ca_name, expires_at) VALUES (?, ?, ?, ?, ?)")
                for command in commands {
                    try outbox.execute(arguments: [command.commandUUID, stamp, command.id])
                    try delivery.execute(arguments: [command.commandUUID, stamp, command.host, command.profile])
                    try due.execute(arguments: [stamp, command.host])
                    if let token = command.token, let ca = command.certificateAuthority {
                        try tokens.execute(arguments: [token, command.host, command.profile, ca, expires])
                    }
                }
            }
        } catch {
            throw Self.databaseError(error, path: path)
        }
    }

    public func queueProfileLists(before cutoff: Date, limit: Int) throws(StoreError) -> Int {
        do {
            return try pool.write { db in
                let now = Self.timestamp()
                let hosts = try String.fetchAll(
                    db,
                    sql: """
                        SELECT h.uuid FROM host h
                        WHERE h.push_token IS NOT NULL AND h.team IS NOT NULL
                            AND (h.profile_list_at IS NULL OR h.profile_list_at < ?)
                            AND NOT EXISTS (SELECT 1 FROM command_outbox o WHERE o.host_uuid = h.uuid
                                AND o.request_type = 'ProfileList' AND o.status IN ('queued', 'sent'))
                        ORDER BY h.profile_list_at, h.uuid LIMIT ?
                        """, arguments: [Self.timestamp(cutoff), limit])
                for host in hosts {
                    // CertificateList rides along: drift reads the expiry of what hosts hold. Its
                    // own placeholder profile keeps it from superseding the ProfileList.
                    try db.execute(
                        sql: """
                            INSERT INTO command_outbox (host_uuid, profile_uuid, request_type, created_at)
                            VALUES (?, '', 'ProfileList', ?), (?, '#certificates', 'CertificateList', ?)
                            """,
                        arguments: [host, now, host, now])
                    try db.execute(sql: "UPDATE host SET profile_list_at = ? WHERE uuid = ?", arguments: [now, host])
                }
                return hosts.count
            }
        } catch {
            throw Self.databaseError(error, path: path)
        }
    }

    public func pushesDue(limit: Int) throws(StoreError) -> [PushTarget] {
        do {
            return try pool.write { db in
                try db.execute(
                    sql: """
                        UPDATE host SET push_due_at = NULL
                        WHERE push_due_at IS NOT NULL AND (push_token IS NULL OR push_stale_at IS NOT NULL)
                        """)
                return try Row.fetchAll(
                    db,
                    sql: """
                        SELECT uuid, push_token, push_magic FROM host
                        WHERE push_due_at IS NOT NULL ORDER BY push_due_at, uuid LIMIT ?
                        """, arguments: [limit]
                ).map { PushTarget(host: $0["uuid"], token: $0["push_token"], pushMagic: $0["push_magic"]) }
            }
        } catch {
            throw Self.databaseError(error, path: path)
        }
    }

    public func pushesDone(hosts: [String]) throws(StoreError) {
        guard !hosts.isEmpty else { return }
        do {
            try pool.write { db in
                let statement = try db.cachedStatement(sql: "UPDATE host SET push_due_at = NULL WHERE uuid = ?")
                for host in hosts { try statement.execute(arguments: [host]) }
            }
        } catch {
            throw Self.databaseError(error, path: path)
        }
    }

    public func queueDepth() throws(StoreError) -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM command_outbox WHERE status IN ('queued', 'sent')") ?? 0 }
    }

    public func markPushStale(host: String) throws(StoreError) {
        do {
            try pool.write { db in
                try db.execute(sql: "UPDATE host SET push_stale_at = ? WHERE uuid = ?", arguments: [Self.timestamp(), host])
            }
        } catch {
            throw Self.databaseError(error, path: path)
        }
    }

    public func failDelivery(_ command: PendingCommand, detail: String) throws(StoreError) {
        do {
            try pool.write { db in
                let stamp = Self.timestamp()
                try db.execute(sql: "DELETE FROM command_outbox WHERE id = ?", arguments: [command.id])
                try db.execute(
                    sql: "UPDATE host_profile SET status = 'failed', detail = ?, updated_at = ? WHERE host_uuid = ? AND profile_uuid = ?",
                    arguments: [detail, stamp, command.host, command.profile])
            }
        } catch {
            throw Self.databaseError(error, path: path)
        }
    }
}
