import Foundation
import PostgresNIO
import SCEPOpsCore

extension PostgresStore: DeliveryStore {
    public func dropSupersededCommands() async throws(StoreError) {
        try await write { connection in
            try await connection.run(
                """
                DELETE FROM command_outbox o
                WHERE o.command_uuid IS NULL AND EXISTS (
                    SELECT 1 FROM command_outbox n
                    WHERE n.host_uuid = o.host_uuid AND n.profile_uuid = o.profile_uuid AND n.id > o.id
                        AND n.command_uuid IS NULL)
                """, postgresLog)
        }
    }

    public func pendingCommands(limit: Int, now: Date) async throws(StoreError) -> [PendingCommand] {
        try await read { connection in
            let ids = try await connection.rows(
                """
                SELECT id FROM command_outbox
                WHERE command_uuid IS NULL AND status = 'queued' AND (not_before IS NULL OR not_before <= \(Self.timestamp(now)))
                ORDER BY id LIMIT \(limit)
                """, postgresLog
            ).map { try $0.get("id", Int64.self) }
            return try await Self.commands(ids, connection)
        }
    }

    public func claimCommands(limit: Int, now: Date, lifetime: TimeInterval) async throws(StoreError) -> [PendingCommand] {
        try await write { connection in
            // SKIP LOCKED: a row another worker is claiming right now is passed over, not
            // waited for; a claimed one is skipped until its claim expires.
            let stamp = Self.timestamp(now)
            let ids = try await connection.rows(
                """
                UPDATE command_outbox SET claimed_until = \(Self.timestamp(now.addingTimeInterval(lifetime)))
                WHERE id IN (
                    SELECT id FROM command_outbox
                    WHERE command_uuid IS NULL AND status = 'queued' AND (not_before IS NULL OR not_before <= \(stamp))
                        AND (claimed_until IS NULL OR claimed_until <= \(stamp))
                    ORDER BY id LIMIT \(limit)
                    FOR UPDATE SKIP LOCKED)
                RETURNING id
                """, postgresLog
            ).map { try $0.get("id", Int64.self) }
            return try await Self.commands(ids.sorted(), connection)
        }
    }

    /// The commands with these ids, in id order, with their profiles' bytes and CAs.
    private static func commands(_ ids: [Int64], _ connection: PostgresConnection) async throws -> [PendingCommand] {
        guard !ids.isEmpty else { return [] }
        let rows = try await connection.rows(
            """
            SELECT o.id, o.host_uuid, o.profile_uuid, o.request_type, p.content
            FROM command_outbox o LEFT JOIN profile p ON p.uuid = o.profile_uuid
            WHERE o.id = ANY(\(ids)) ORDER BY o.id
            """, postgresLog)
        let cas = try await certificateAuthorities(connection, postgresLog)
        return try rows.map { row in
            let profile = try row.get("profile_uuid", String.self)
            return PendingCommand(
                id: try row.get("id"), host: try row.get("host_uuid"), profile: profile, type: try row.get("request_type"),
                content: try row.get("content", Data?.self).map { [UInt8]($0) }, certificateAuthorities: cas[profile] ?? [])
        }
    }

    /// One statement for the whole batch: the round trips per command were most of a
    /// cycle's time on PostgreSQL. A row another worker assigned or dropped meanwhile is not
    /// this one's to record, and nothing of it is written.
    public func recordAssigned(_ commands: [AssignedCommand], tokenLifetime: TimeInterval) async throws(StoreError) {
        guard !commands.isEmpty else { return }
        let now = Date()
        let stamp = Self.timestamp(now)
        let expires = Self.timestamp(now.addingTimeInterval(tokenLifetime))
        // By host, so that replicas lock hosts in one order; "" for no token (arrays carry no NULLs).
        let batch = commands.sorted { ($0.host, $0.id) < ($1.host, $1.id) }
        let ids = batch.map(\.id)
        let uuids = batch.map(\.commandUUID)
        let hosts = batch.map(\.host)
        let profiles = batch.map(\.profile)
        let tokens = batch.map { $0.token ?? "" }
        let authorities = batch.map { $0.certificateAuthority ?? "" }
        try await write { connection in
            try await connection.run(
                """
                WITH batch AS (
                    SELECT * FROM unnest(\(ids)::bigint[], \(uuids)::text[], \(hosts)::text[], \(profiles)::text[],
                        \(tokens)::text[], \(authorities)::text[]) AS b(id, command_uuid, host, profile, token, ca)
                ), assigned AS (
                    UPDATE command_outbox o SET command_uuid = b.command_uuid, updated_at = \(stamp)
                    FROM batch b WHERE o.id = b.id AND o.command_uuid IS NULL
                    RETURNING b.*
                ), deliveries AS (
                    UPDATE host_profile hp SET status = 'sent', command_uuid = a.command_uuid, acknowledged_at = NULL,
                        updated_at = \(stamp)
                    FROM assigned a WHERE hp.host_uuid = a.host AND hp.profile_uuid = a.profile
                ), pushes AS (
                    UPDATE host h SET push_due_at = \(stamp)
                    WHERE h.uuid IN (SELECT host FROM assigned) AND h.push_due_at IS NULL
                )
                INSERT INTO proxy_token (token, host_uuid, profile_uuid, ca_name, expires_at)
                SELECT token, host, profile, ca, \(expires) FROM assigned WHERE token <> '' AND ca <> ''
                """, postgresLog)
        }
    }

    public func queueProfileLists(before cutoff: Date, limit: Int) async throws(StoreError) -> Int {
        try await write { connection in
            let now = Self.timestamp()
            // SKIP LOCKED: replicas queueing at once take different hosts.
            let hosts = try await connection.rows(
                """
                SELECT h.uuid FROM host h
                WHERE h.push_token IS NOT NULL AND h.team IS NOT NULL
                    AND (h.profile_list_at IS NULL OR h.profile_list_at < \(Self.timestamp(cutoff)))
                    AND NOT EXISTS (SELECT 1 FROM command_outbox o WHERE o.host_uuid = h.uuid
                        AND o.request_type = 'ProfileList' AND o.status IN ('queued', 'sent'))
                ORDER BY h.profile_list_at NULLS FIRST, h.uuid LIMIT \(limit)
                FOR UPDATE OF h SKIP LOCKED
                """, postgresLog
            ).map { try $0.get("uuid", String.self) }
            for host in hosts {
                try await Self.queue(connection, postgresLog, host: host, profile: "", .profileList, now: now)
                try await Self.queue(connection, postgresLog, host: host, profile: "#certificates", .certificateList, now: now)
                try await connection.run("UPDATE host SET profile_list_at = \(now) WHERE uuid = \(host)", postgresLog)
            }
            return hosts.count
        }
    }

    public func pushesDue(limit: Int, now: Date, lifetime: TimeInterval) async throws(StoreError) -> [PushTarget] {
        try await write { connection in
            try await connection.run(
                """
                UPDATE host SET push_due_at = NULL, push_claimed_until = NULL
                WHERE push_due_at IS NOT NULL AND (push_token IS NULL OR push_stale_at IS NOT NULL)
                """, postgresLog)
            // Claimed in the same statement: of replicas asking at once, each gets other hosts.
            let stamp = Self.timestamp(now)
            return try await connection.rows(
                """
                UPDATE host SET push_claimed_until = \(Self.timestamp(now.addingTimeInterval(lifetime)))
                WHERE uuid IN (
                    SELECT uuid FROM host
                    WHERE push_due_at IS NOT NULL AND (push_claimed_until IS NULL OR push_claimed_until <= \(stamp))
                    ORDER BY push_due_at, uuid LIMIT \(limit)
                    FOR UPDATE SKIP LOCKED)
                RETURNING uuid, push_token, push_magic, push_due_at
                """, postgresLog
            ).map {
                (due: try $0.get("push_due_at", String.self),
                 target: PushTarget(host: try $0.get("uuid"), token: try $0.get("push_token"), pushMagic: try $0.get("push_magic")))
            }.sorted { ($0.due, $0.target.host) < ($1.due, $1.target.host) }.map(\.target)
        }
    }

    public func pushesDone(hosts: [String], retrying: [String]) async throws(StoreError) {
        guard !hosts.isEmpty || !retrying.isEmpty else { return }
        try await write { connection in
            try await connection.run(
                "UPDATE host SET push_due_at = NULL, push_claimed_until = NULL WHERE uuid = ANY(\(hosts))", postgresLog)
            try await connection.run("UPDATE host SET push_claimed_until = NULL WHERE uuid = ANY(\(retrying))", postgresLog)
        }
    }

    public func queueDepth() async throws(StoreError) -> Int {
        try await read { connection in
            try await connection.rows(
                "SELECT COUNT(*)::INTEGER AS n FROM command_outbox WHERE status IN ('queued', 'sent')", postgresLog
            ).first?.get("n", Int.self) ?? 0
        }
    }

    public func markPushStale(host: String) async throws(StoreError) {
        try await write { connection in
            try await connection.run("UPDATE host SET push_stale_at = \(Self.timestamp()) WHERE uuid = \(host)", postgresLog)
        }
    }

    public func failDelivery(_ command: PendingCommand, detail: String) async throws(StoreError) {
        try await write { connection in
            try await connection.run("DELETE FROM command_outbox WHERE id = \(command.id)", postgresLog)
            try await Self.setDelivery(connection, postgresLog, host: command.host, profile: command.profile, .failed, detail: detail, now: Self.timestamp())
        }
    }

    // MARK: - Shared writes

    static func queue(
        _ connection: PostgresConnection, _ logger: Logger, host: String, profile: String, _ kind: HostCommandKind,
        applyID: Int64? = nil, now: String, notBefore: String? = nil
    ) async throws {
        try await connection.run(
            """
            INSERT INTO command_outbox (host_uuid, profile_uuid, request_type, apply_id, created_at, not_before)
            VALUES (\(host), \(profile), \(kind), \(applyID), \(now), \(notBefore))
            """, postgresLog)
    }

    static func setDelivery(
        _ connection: PostgresConnection, _ logger: Logger, host: String, profile: String, _ status: DeliveryStatus,
        detail: String?, now: String
    ) async throws {
        try await connection.run(
            """
            UPDATE host_profile SET status = \(status), detail = \(detail), updated_at = \(now)
            WHERE host_uuid = \(host) AND profile_uuid = \(profile)
            """, postgresLog)
    }

    static func recordDelivery(
        _ connection: PostgresConnection, _ logger: Logger, host: String, profile: String, identifier: String,
        _ kind: HostCommandKind, now: String
    ) async throws {
        try await connection.run(
            """
            INSERT INTO host_profile (host_uuid, profile_uuid, identifier, operation, status, retries, updated_at)
            VALUES (\(host), \(profile), \(identifier), \(DeliveryOperation(kind)), 'pending', 0, \(now))
            ON CONFLICT (host_uuid, profile_uuid) DO UPDATE SET
                operation = excluded.operation, status = 'pending', command_uuid = NULL, detail = NULL,
                retries = 0, upstream_failures = 0, acknowledged_at = NULL, updated_at = excluded.updated_at
            """, postgresLog)
    }
}
