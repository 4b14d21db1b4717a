import Foundation
import GRDB
import SCEPOpsCore

/// Closed sets are stored by their raw values; each table's CHECK keeps its column to the set.
extension HostCommandKind: DatabaseValueConvertible {}
extension DeliveryStatus: DatabaseValueConvertible {}
extension DeliveryOperation: DatabaseValueConvertible {}
extension OutboxStatus: DatabaseValueConvertible {}
extension ApplyResult: DatabaseValueConvertible {}

extension SQLiteStore: DeliveryStore {
    public func dropSupersededCommands() async throws(StoreError) {
        try await write { db in
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
    }

    public func pendingCommands(limit: Int, now: Date) async throws(StoreError) -> [PendingCommand] {
        try await read { db in try Self.pending(db, limit: limit, now: now, claim: nil) }
    }

    public func claimCommands(limit: Int, now: Date, lifetime: TimeInterval) async throws(StoreError) -> [PendingCommand] {
        // One write transaction: SQLite lets one writer in at a time, so two claims never
        // overlap.
        try await write { db in try Self.pending(db, limit: limit, now: now, claim: now.addingTimeInterval(lifetime)) }
    }

    /// Unassigned, queued, past their backoff and (when claiming) not claimed by another
    /// worker; with `claim`, claimed until then.
    private static func pending(_ db: Database, limit: Int, now: Date, claim: Date?) throws -> [PendingCommand] {
        let stamp = timestamp(now)
        let ready = """
            o.command_uuid IS NULL AND o.status = 'queued' AND (o.not_before IS NULL OR o.not_before <= :now)
            """ + (claim == nil ? "" : " AND (o.claimed_until IS NULL OR o.claimed_until <= :now)")
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT o.id, o.host_uuid, o.profile_uuid, o.request_type, p.content
                FROM command_outbox o
                LEFT JOIN profile p ON p.uuid = o.profile_uuid
                WHERE \(ready)
                ORDER BY o.id LIMIT :limit
                """, arguments: ["now": stamp, "limit": limit])
        if let claim, let first = rows.first?["id"] as Int64?, let last = rows.last?["id"] as Int64? {
            // One statement, not one per row: the rows taken are the first by id that `ready`
            // admits, so between the first and the last it admits no other (and this write
            // transaction is the only writer).
            try db.execute(
                sql: "UPDATE command_outbox AS o SET claimed_until = :until WHERE o.id BETWEEN :first AND :last AND \(ready)",
                arguments: ["until": timestamp(claim), "first": first, "last": last, "now": stamp])
        }
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
                content: content.map { [UInt8]($0) }, certificateAuthorities: cas[profile] ?? [])
        }
    }

    public func recordAssigned(_ commands: [AssignedCommand], tokenLifetime: TimeInterval) async throws(StoreError) {
        guard !commands.isEmpty else { return }
        let now = Date()
        let stamp = Self.timestamp(now)
        let expires = Self.timestamp(now.addingTimeInterval(tokenLifetime))
        try await write { db in
            // Prepared once per batch: this runs for every command of every host.
            let outbox = try db.cachedStatement(
                sql: "UPDATE command_outbox SET command_uuid = ?, updated_at = ? WHERE id = ? AND command_uuid IS NULL")
            let delivery = try db.cachedStatement(
                sql: """
                    UPDATE host_profile SET status = 'sent', command_uuid = ?, acknowledged_at = NULL, updated_at = ?
                    WHERE host_uuid = ? AND profile_uuid = ?
                    """)
            let due = try db.cachedStatement(sql: "UPDATE host SET push_due_at = ? WHERE uuid = ? AND push_due_at IS NULL")
            let tokens = try db.cachedStatement(
                sql: "INSERT INTO proxy_token (token, host_uuid, profile_uuid, ca_name, expires_at) VALUES (?, ?, ?, ?, ?)")
            var marked = Set<String>()
            for command in commands {
                try outbox.execute(arguments: [command.commandUUID, stamp, command.id])
                // Assigned or dropped by another worker meanwhile: not this one's to record.
                guard db.changesCount == 1 else { continue }
                try delivery.execute(arguments: [command.commandUUID, stamp, command.host, command.profile])
                // A host is made due once, however many of its commands are in the batch.
                if marked.insert(command.host).inserted { try due.execute(arguments: [stamp, command.host]) }
                if let token = command.token, let ca = command.certificateAuthority {
                    try tokens.execute(arguments: [token, command.host, command.profile, ca, expires])
                }
            }
        }
    }

    public func queueProfileLists(before cutoff: Date, limit: Int) async throws(StoreError) -> Int {
        try await write { db in
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
                try Self.queue(db, host: host, profile: "", .profileList, now: now)
                try Self.queue(db, host: host, profile: "#certificates", .certificateList, now: now)
                try db.execute(sql: "UPDATE host SET profile_list_at = ? WHERE uuid = ?", arguments: [now, host])
            }
            return hosts.count
        }
    }

    public func pushesDue(limit: Int, now: Date, lifetime: TimeInterval) async throws(StoreError) -> [PushTarget] {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE host SET push_due_at = NULL, push_claimed_until = NULL
                    WHERE push_due_at IS NOT NULL AND (push_token IS NULL OR push_stale_at IS NOT NULL)
                    """)
            let targets = try Row.fetchAll(
                db,
                sql: """
                    SELECT uuid, push_token, push_magic FROM host
                    WHERE push_due_at IS NOT NULL AND (push_claimed_until IS NULL OR push_claimed_until <= ?)
                    ORDER BY push_due_at, uuid LIMIT ?
                    """, arguments: [Self.timestamp(now), limit]
            ).map { PushTarget(host: $0["uuid"], token: $0["push_token"], pushMagic: $0["push_magic"]) }
            let claim = try db.cachedStatement(sql: "UPDATE host SET push_claimed_until = ? WHERE uuid = ?")
            let until = Self.timestamp(now.addingTimeInterval(lifetime))
            for target in targets { try claim.execute(arguments: [until, target.host]) }
            return targets
        }
    }

    public func pushesDone(hosts: [String], retrying: [String]) async throws(StoreError) {
        guard !hosts.isEmpty || !retrying.isEmpty else { return }
        try await write { db in
            let done = try db.cachedStatement(sql: "UPDATE host SET push_due_at = NULL, push_claimed_until = NULL WHERE uuid = ?")
            for host in hosts { try done.execute(arguments: [host]) }
            let retry = try db.cachedStatement(sql: "UPDATE host SET push_claimed_until = NULL WHERE uuid = ?")
            for host in retrying { try retry.execute(arguments: [host]) }
        }
    }

    public func queueDepth() async throws(StoreError) -> Int {
        try await read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM command_outbox WHERE status IN ('queued', 'sent')") ?? 0
        }
    }

    public func markPushStale(host: String) async throws(StoreError) {
        try await write { db in
            try db.execute(sql: "UPDATE host SET push_stale_at = ? WHERE uuid = ?", arguments: [Self.timestamp(), host])
        }
    }

    public func failDelivery(_ command: PendingCommand, detail: String) async throws(StoreError) {
        try await write { db in
            try db.execute(sql: "DELETE FROM command_outbox WHERE id = ?", arguments: [command.id])
            try Self.setDelivery(db, host: command.host, profile: command.profile, .failed, detail: detail, now: Self.timestamp())
        }
    }

    // MARK: - Shared writes

    /// Queues a host command; the worker makes it ready no earlier than `notBefore`.
    static func queue(
        _ db: Database, host: String, profile: String, _ kind: HostCommandKind, applyID: Int64? = nil, now: String,
        notBefore: String? = nil
    ) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO command_outbox (host_uuid, profile_uuid, request_type, apply_id, created_at, not_before)
                VALUES (?, ?, ?, ?, ?, ?)
                """)
        try statement.execute(arguments: [host, profile, kind, applyID, now, notBefore])
    }

    /// Sets a delivery's status and the detail a user reads.
    static func setDelivery(_ db: Database, host: String, profile: String, _ status: DeliveryStatus, detail: String?, now: String)
        throws
    {
        try db.execute(
            sql: "UPDATE host_profile SET status = ?, detail = ?, updated_at = ? WHERE host_uuid = ? AND profile_uuid = ?",
            arguments: [status, detail, now, host, profile])
    }

    /// A host's delivery of a profile, (re)set to pending: the worker renders it next.
    static func recordDelivery(
        _ db: Database, host: String, profile: String, identifier: String, _ kind: HostCommandKind, now: String
    ) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO host_profile (host_uuid, profile_uuid, identifier, operation, status, retries, updated_at)
                VALUES (?, ?, ?, ?, 'pending', 0, ?)
                ON CONFLICT (host_uuid, profile_uuid) DO UPDATE SET
                    operation = excluded.operation, status = 'pending', command_uuid = NULL, detail = NULL,
                    retries = 0, upstream_failures = 0, acknowledged_at = NULL, updated_at = excluded.updated_at
                """)
        try statement.execute(arguments: [host, profile, identifier, DeliveryOperation(kind), now])
    }
}
