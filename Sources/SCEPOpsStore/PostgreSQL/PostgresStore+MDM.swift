import Foundation
import PostgresNIO
import SCEPOpsCore

extension PostgresStore: MDMStore {
    public func team(checkInReference: String) async throws(StoreError) -> String? {
        let teams = try await read { connection in
            try await connection.rows("SELECT name, enroll_secret_digest FROM team", postgresLog).map {
                (try $0.get("name", String.self), try $0.get("enroll_secret_digest", String.self))
            }
        }
        return CheckInReferences.team(checkInReference, in: teams)
    }

    public func team(enrollSecret: Secret) async throws(StoreError) -> String? {
        let digest = box.digest(enrollSecret)
        return try await read { connection in
            try await connection.rows("SELECT name FROM team WHERE enroll_secret_digest = \(digest)", postgresLog).first?
                .get("name", String.self)
        }
    }

    public func authenticate(host: String, serial: String?, team: String, identity: String, now: Date)
        async throws(StoreError) -> Result<Void, MDMRefusal>
    {
        try await write { connection in
            let stamp = Self.timestamp(now)
            // The host's row, locked when it exists: two Authenticates for one UDID are
            // decided one after the other (a new UDID's are kept apart by the unique keys).
            let allowed = Self.date(
                try await connection.rows("SELECT reenroll_allowed_until FROM host WHERE uuid = \(host) FOR UPDATE", postgresLog).first?
                    .get("reenroll_allowed_until", String?.self))
            let owner = try await connection.rows("SELECT host_uuid FROM device_identity WHERE fingerprint = \(identity)", postgresLog)
                .first?.get("host_uuid", String.self)
            let bound = try await connection.rows(
                "SELECT fingerprint, checked_out_at FROM device_identity WHERE host_uuid = \(host)", postgresLog
            ).first.map {
                IdentityBinding.Bound(fingerprint: try $0.get("fingerprint"), checkedOut: try $0.get("checked_out_at", String?.self) != nil)
            }
            let decision = IdentityBinding.decide(
                host: host, presented: identity, ownerOfPresented: owner, bound: bound, allowedUntil: allowed, now: now)
            // A refusal comes before anything is written: it changes nothing.
            if let refusal = decision.refusal { return .failure(refusal) }
            try await connection.run(
                "INSERT INTO host (uuid, serial, team, enrolled_at) VALUES (\(host), \(serial), NULL, \(stamp)) ON CONFLICT (uuid) DO NOTHING",
                postgresLog)
            if decision.usesAllowance {
                try await connection.run("UPDATE host SET reenroll_allowed_until = NULL WHERE uuid = \(host)", postgresLog)
            }
            try await connection.run("DELETE FROM device_identity WHERE host_uuid = \(host)", postgresLog)
            try await connection.run(
                "INSERT INTO device_identity (fingerprint, host_uuid, bound_at) VALUES (\(identity), \(host), \(stamp))", postgresLog)
            try await Self.move(connection, postgresLog, host: host, serial: serial, to: team, now: stamp)
            return .success(())
        }
    }

    public func allowReenrollment(host: String, until: Date) async throws(StoreError) -> Bool {
        try await write { connection in
            try await connection.rows(
                "UPDATE host SET reenroll_allowed_until = \(Self.timestamp(until)) WHERE uuid = \(host) RETURNING uuid", postgresLog
            ).count == 1
        }
    }

    public func isBound(host: String, identity: String) async throws(StoreError) -> Bool {
        try await read { connection in
            try await connection.rows("SELECT host_uuid FROM device_identity WHERE fingerprint = \(identity)", postgresLog).first?
                .get("host_uuid", String.self) == host
        }
    }

    public func idlePoll(host: String, identity: String, now: Date) async throws(StoreError) -> IdlePoll {
        try await read { connection in
            // One round trip: on a fleet, most requests are this.
            let row = try await connection.rows(
                """
                SELECT (SELECT host_uuid FROM device_identity WHERE fingerprint = \(identity)) AS owner,
                    (SELECT last_seen_at FROM host WHERE uuid = \(host)) AS seen,
                    EXISTS (SELECT 1 FROM command_outbox WHERE host_uuid = \(host) AND command_uuid IS NOT NULL
                        AND status IN ('queued', 'sent')) AS ready
                """, postgresLog
            ).first
            guard let row, try row.get("owner", String?.self) == host else { return .notBound }
            let writes = LastSeen.idlePollWrites(
                lastSeen: Self.date(try row.get("seen", String?.self)), hasReadyCommand: try row.get("ready", Bool.self), now: now)
            return writes ? .report : .quiet
        }
    }

    public func updatePush(host: String, token: String, pushMagic: String, topic: String) async throws(StoreError) {
        try await write { connection in
            try await connection.run(
                """
                UPDATE host SET push_token = \(token), push_magic = \(pushMagic), push_topic = \(topic), push_stale_at = NULL,
                    last_seen_at = \(Self.timestamp())
                WHERE uuid = \(host)
                """, postgresLog)
        }
    }

    public func checkOut(host: String) async throws(StoreError) {
        try await write { connection in
            let stamp = Self.timestamp()
            try await Self.move(connection, postgresLog, host: host, serial: nil, to: nil, now: stamp)
            try await connection.run("UPDATE device_identity SET checked_out_at = \(stamp) WHERE host_uuid = \(host)", postgresLog)
        }
    }

    public func report(host: String, commandUUID: String?, result: CommandResult, policy: RedeliveryPolicy)
        async throws(StoreError) -> Result<QueuedCommand?, MDMRefusal>
    {
        if result == .idle {
            let writes: Bool = try await read { connection in
                let seen = try await connection.rows("SELECT last_seen_at FROM host WHERE uuid = \(host)", postgresLog).first?
                    .get("last_seen_at", String?.self)
                let ready = try await connection.rows(
                    """
                    SELECT 1 AS one FROM command_outbox WHERE host_uuid = \(host) AND command_uuid IS NOT NULL
                        AND status IN ('queued', 'sent') LIMIT 1
                    """, postgresLog
                ).isEmpty == false
                return LastSeen.idlePollWrites(lastSeen: Self.date(seen), hasReadyCommand: ready, now: Date())
            }
            if !writes { return .success(nil) }
        }
        return try await write { connection in
            let now = Self.timestamp()
            // The host's row lock: one report of a host at a time, across replicas.
            try await connection.run("UPDATE host SET last_seen_at = \(now) WHERE uuid = \(host)", postgresLog)
            if result != .idle {
                guard let commandUUID,
                    let row = try await connection.rows(
                        """
                        SELECT id, profile_uuid, request_type FROM command_outbox
                        WHERE host_uuid = \(host) AND command_uuid = \(commandUUID)
                        """, postgresLog
                    ).first
                else { return .failure(.unknownCommand) }
                try await Self.record(
                    result, id: try row.get("id"), command: commandUUID, profile: try row.get("profile_uuid"),
                    type: try row.get("request_type"), host: host, now: now, policy: policy, connection, postgresLog)
            }
            let skip = result == .notNow ? " AND o.not_now = false" : ""
            guard
                let next = try await connection.rows(
                    PostgresQuery(
                        unsafeSQL: Self.queuedCommandColumns + """
                             WHERE o.host_uuid = $1 AND o.command_uuid IS NOT NULL AND o.status IN ('queued', 'sent')\(skip)
                            ORDER BY o.id LIMIT 1
                            """, binds: Self.binds(host)), postgresLog
                ).first
            else { return .success(nil) }
            try await connection.run(
                "UPDATE command_outbox SET status = 'sent', not_now = false, updated_at = \(now) WHERE id = \(try next.get("id", Int64.self))",
                postgresLog)
            return .success(try Self.queuedCommand(next))
        }
    }

    private static func record(
        _ result: CommandResult, id: Int64, command: String, profile: String, type: HostCommandKind, host: String, now: String,
        policy: RedeliveryPolicy, _ connection: PostgresConnection, _ logger: Logger
    ) async throws {
        func close(_ status: OutboxStatus, notNow: Bool = false) async throws {
            try await connection.run(
                "UPDATE command_outbox SET status = \(status), not_now = \(notNow), updated_at = \(now) WHERE id = \(id)", postgresLog)
        }
        switch result {
        case .acknowledged:
            try await close(.acknowledged)
            if type == .removeProfile {
                try await connection.run(
                    """
                    DELETE FROM host_profile WHERE host_uuid = \(host) AND profile_uuid = \(profile) AND operation = 'remove'
                        AND command_uuid = \(command)
                    """, postgresLog)
            } else {
                try await connection.run(
                    """
                    UPDATE host_profile SET acknowledged_at = \(now), upstream_failures = 0, updated_at = \(now)
                    WHERE host_uuid = \(host) AND profile_uuid = \(profile) AND command_uuid = \(command)
                    """, postgresLog)
                try await connection.run(
                    PostgresQuery(
                        unsafeSQL: HostProfileCertificate.numbered(RenewalSQL.certificateListAfterInstall),
                        binds: Self.binds(host, now, profile, host)), postgresLog)
            }
        case .error(let detail):
            let earlier =
                type == .installProfile ? try await certificateFailures(connection, host: host, profile: profile, command: command) : nil
            let failures = (earlier ?? 0) + 1
            let decision = policy.afterInstallError(takesCertificate: earlier != nil, failures: failures, detail: detail, now: Date())
            if earlier != nil {
                try await recordRedelivery(connection, host: host, profile: profile, command: command, failures: failures, decision, stamp: now)
                return
            }
            try await close(.error)
            try await connection.run(
                """
                UPDATE host_profile SET status = \(decision.status), detail = \(decision.detail), updated_at = \(now)
                WHERE host_uuid = \(host) AND profile_uuid = \(profile) AND command_uuid = \(command)
                """, postgresLog)
        case .profileList(let identifiers):
            try await close(.acknowledged)
            try await verify(host: host, installed: Set(identifiers), now: now, connection, postgresLog)
        case .certificateList(let certificates):
            try await close(.acknowledged)
            try await connection.run("DELETE FROM host_certificate WHERE host_uuid = \(host)", postgresLog)
            // Only the profiles the list names: every host answers this at each verify interval.
            var known: Set<String> = []
            for candidate in Set(certificates.compactMap { RenewalID.profile(inSubject: $0.subject) }) {
                if try await connection.rows("SELECT uuid FROM profile WHERE uuid = \(candidate)", postgresLog).first != nil {
                    known.insert(candidate)
                }
            }
            for certificate in certificates {
                let profile = RenewalID.profile(inSubject: certificate.subject).flatMap { known.contains($0) ? $0 : nil }
                try await connection.run(
                    """
                    INSERT INTO host_certificate (host_uuid, fingerprint, subject, not_after, is_identity, seen_at, serial, not_before,
                        profile_uuid)
                    VALUES (\(host), \(certificate.fingerprint), \(certificate.subject), \(certificate.notAfter),
                        \(certificate.isIdentity), \(now), \(certificate.serial), \(certificate.notBefore), \(profile))
                    ON CONFLICT (host_uuid, fingerprint) DO UPDATE SET subject = excluded.subject,
                        not_after = excluded.not_after, is_identity = excluded.is_identity, seen_at = excluded.seen_at,
                        serial = excluded.serial, not_before = excluded.not_before, profile_uuid = excluded.profile_uuid
                    """, postgresLog)
            }
            var recorded: [String: HeldCertificate] = [:]
            for row in try await connection.rows(
                PostgresQuery(unsafeSQL: HostProfileCertificate.standingColumns + " WHERE host_uuid = $1", binds: Self.binds(host)), postgresLog)
            {
                recorded[try row.get("profile_uuid", String.self)] = HeldCertificate(
                    subject: try row.get("subject"), serial: try row.get("serial"),
                    notBefore: Self.date(try row.get("not_before", String.self)) ?? .distantPast,
                    notAfter: Self.date(try row.get("not_after", String.self)) ?? .distantPast, fingerprint: try row.get("fingerprint"))
            }
            let changes = HeldCertificate.changes(
                listed: certificates.compactMap(\.held), recorded: recorded, known: known, now: Self.date(now) ?? Date())
            for (profile, standing) in changes {
                var binds = PostgresBindings()
                for value in HostProfileCertificate.values(host, profile, standing, now) { binds.append(value) }
                try await connection.run(
                    PostgresQuery(unsafeSQL: HostProfileCertificate.numbered(HostProfileCertificate.upsert), binds: binds), postgresLog)
            }
        case .notNow:
            try await close(.queued, notNow: true)
        case .idle:
            break
        }
    }

    /// The failures so far of the install delivery `command` of a profile that takes a
    /// certificate from a CA; nil for any other profile.
    private static func certificateFailures(_ connection: PostgresConnection, host: String, profile: String, command: String)
        async throws -> Int?
    {
        try await connection.rows(
            """
            SELECT hp.upstream_failures FROM host_profile hp
            WHERE hp.host_uuid = \(host) AND hp.profile_uuid = \(profile) AND hp.command_uuid = \(command)
                AND EXISTS (SELECT 1 FROM profile_certificate_authority pc WHERE pc.profile_uuid = hp.profile_uuid)
            """, postgresLog
        ).first.map { try $0.get("upstream_failures", Int.self) }
    }

    /// Records what `ProfileListReconciliation` makes of a host's ProfileList.
    private static func verify(
        host: String, installed: Set<String>, now: String, _ connection: PostgresConnection, _ logger: Logger
    ) async throws {
        let deliveries = try await connection.rows(
            """
            SELECT profile_uuid, identifier, operation, status, acknowledged_at, retries FROM host_profile
            WHERE host_uuid = \(host) ORDER BY profile_uuid
            """, postgresLog
        ).map { row in
            ProfileListReconciliation.Delivery(
                id: try row.get("profile_uuid", String.self), identifier: try row.get("identifier"), state: try deliveryState(row),
                retries: try row.get("retries"))
        }
        let result = ProfileListReconciliation.reconcile(deliveries, installed: installed)
        for judgement in result.outcomes {
            switch judgement.outcome {
            case .verified:
                try await setDelivery(connection, postgresLog, host: host, profile: judgement.id, .verified, detail: nil, now: now)
            case .fail(let detail):
                try await setDelivery(connection, postgresLog, host: host, profile: judgement.id, .failed, detail: detail, now: now)
            case .redeliver(let detail):
                try await connection.run(
                    """
                    UPDATE host_profile SET status = 'pending', retries = retries + 1, command_uuid = NULL,
                        acknowledged_at = NULL, detail = \(detail), updated_at = \(now)
                    WHERE host_uuid = \(host) AND profile_uuid = \(judgement.id)
                    """, postgresLog)
                try await queue(connection, postgresLog, host: host, profile: judgement.id, .installProfile, now: now)
            }
        }
        try await connection.run("DELETE FROM host_unexpected_profile WHERE host_uuid = \(host)", postgresLog)
        for identifier in result.unexpected {
            try await connection.run(
                "INSERT INTO host_unexpected_profile (host_uuid, identifier, seen_at) VALUES (\(host), \(identifier), \(now))", postgresLog)
        }
    }
}
