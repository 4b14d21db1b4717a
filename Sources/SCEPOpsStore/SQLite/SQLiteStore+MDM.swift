import Foundation
import GRDB
import SCEPOpsCore

extension SQLiteStore: MDMStore {
    public func team(enrollSecret: Secret) async throws(StoreError) -> String? {
        let digest = box.digest(enrollSecret)
        return try await read { db in
            try String.fetchOne(db, sql: "SELECT name FROM team WHERE enroll_secret_digest = ?", arguments: [digest])
        }
    }

    public func team(checkInReference: String) async throws(StoreError) -> String? {
        let teams = try await read { db in
            try Row.fetchAll(db, sql: "SELECT name, enroll_secret_digest FROM team").map { ($0["name"] as String, $0["enroll_secret_digest"] as String) }
        }
        return CheckInReferences.team(checkInReference, in: teams)
    }

    public func authenticate(host: String, serial: String?, team: String, identity: String, now: Date)
        async throws(StoreError) -> Result<Void, MDMRefusal>
    {
        try await write { db in
            let owner = try String.fetchOne(
                db, sql: "SELECT host_uuid FROM device_identity WHERE fingerprint = ?", arguments: [identity])
            let bound = try Row.fetchOne(
                db, sql: "SELECT fingerprint, checked_out_at FROM device_identity WHERE host_uuid = ?", arguments: [host]
            ).map { IdentityBinding.Bound(fingerprint: $0["fingerprint"], checkedOut: ($0["checked_out_at"] as String?) != nil) }
            let allowed = Self.date(
                try String.fetchOne(db, sql: "SELECT reenroll_allowed_until FROM host WHERE uuid = ?", arguments: [host]))
            let decision = IdentityBinding.decide(
                host: host, presented: identity, ownerOfPresented: owner, bound: bound, allowedUntil: allowed, now: now)
            // A refusal comes before anything is written: it changes nothing.
            if let refusal = decision.refusal { return .failure(refusal) }
            let stamp = Self.timestamp(now)
            if decision.usesAllowance {
                try db.execute(sql: "UPDATE host SET reenroll_allowed_until = NULL WHERE uuid = ?", arguments: [host])
            }
            // The host's row first (the binding refers to it), then its team, in one transaction.
            try db.execute(
                sql: "INSERT OR IGNORE INTO host (uuid, serial, team, enrolled_at) VALUES (?, ?, NULL, ?)",
                arguments: [host, serial, stamp])
            try db.execute(sql: "DELETE FROM device_identity WHERE host_uuid = ?", arguments: [host])
            try db.execute(
                sql: "INSERT INTO device_identity (fingerprint, host_uuid, bound_at) VALUES (?, ?, ?)",
                arguments: [identity, host, stamp])
            try Self.move(db, host: host, serial: serial, to: team, now: stamp)
            return .success(())
        }
    }

    public func allowReenrollment(host: String, until: Date) async throws(StoreError) -> Bool {
        try await write { db in
            try db.execute(
                sql: "UPDATE host SET reenroll_allowed_until = ? WHERE uuid = ?", arguments: [Self.timestamp(until), host])
            return db.changesCount == 1
        }
    }

    public func isBound(host: String, identity: String) async throws(StoreError) -> Bool {
        if let bound = quick?.read(Self.identityOwner, [identity], { Self.owner($0, is: host) }) { return bound }
        return try await readStatement { db in
            try Self.firstRow(db.cachedStatement(sql: Self.identityOwner), [identity]) { Self.owner($0, is: host) }
        }
    }

    /// Every signed request asks this.
    static let identityOwner = "SELECT host_uuid FROM device_identity WHERE fingerprint = ?"

    static func owner(_ row: (some StatementRow)?, is host: String) -> Bool {
        row?.text(0) == host
    }

    public func idlePoll(host: String, identity: String, now: Date) async throws(StoreError) -> IdlePoll {
        if let poll = quick?.read(Self.idlePollLookup, [identity, host, host], { Self.idlePoll($0, host: host, now: now) }) { return poll }
        return try await readStatement { db in
            try Self.firstRow(db.cachedStatement(sql: Self.idlePollLookup), [identity, host, host]) { Self.idlePoll($0, host: host, now: now) }
        }
    }

    static func idlePoll(_ row: (some StatementRow)?, host: String, now: Date) -> IdlePoll {
        guard let row, row.text(0) == host else { return .notBound }
        let writes = LastSeen.idlePollWrites(lastSeen: date(row.text(1)), hasReadyCommand: row.integer(2) == 1, now: now)
        return writes ? .report : .quiet
    }

    /// An Idle poll, most of the signed requests.
    static let idlePollLookup = """
        SELECT (SELECT host_uuid FROM device_identity WHERE fingerprint = ?),
            (SELECT last_seen_at FROM host WHERE uuid = ?),
            EXISTS (SELECT 1 FROM command_outbox WHERE host_uuid = ? AND command_uuid IS NOT NULL
                AND status IN ('queued', 'sent'))
        """

    public func updatePush(host: String, token: String, pushMagic: String, topic: String) async throws(StoreError) {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE host SET push_token = ?, push_magic = ?, push_topic = ?, push_stale_at = NULL, last_seen_at = ?
                    WHERE uuid = ?
                    """,
                arguments: [token, pushMagic, topic, Self.timestamp(), host])
        }
    }

    public func checkOut(host: String) async throws(StoreError) {
        try await write { db in
            let stamp = Self.timestamp()
            try Self.move(db, host: host, serial: nil, to: nil, now: stamp)
            try db.execute(sql: "UPDATE device_identity SET checked_out_at = ? WHERE host_uuid = ?", arguments: [stamp, host])
        }
    }

    public func report(host: String, commandUUID: String?, result: CommandResult, policy: RedeliveryPolicy)
        async throws(StoreError) -> Result<QueuedCommand?, MDMRefusal>
    {
        if result == .idle {
            let writes: Bool = try await read { db in
                // Idle polls are most requests: their statements are compiled once per connection.
                let seen = try String.fetchOne(db.cachedStatement(sql: "SELECT last_seen_at FROM host WHERE uuid = ?"), arguments: [host])
                let ready = try Bool.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT EXISTS (SELECT 1 FROM command_outbox WHERE host_uuid = ? AND command_uuid IS NOT NULL
                                AND status IN ('queued', 'sent'))
                            """), arguments: [host]) ?? false
                return LastSeen.idlePollWrites(lastSeen: Self.date(seen), hasReadyCommand: ready, now: Date())
            }
            if !writes { return .success(nil) }
        }
        return try await write { db in
            let now = Self.timestamp()
            try db.execute(sql: "UPDATE host SET last_seen_at = ? WHERE uuid = ?", arguments: [now, host])
            if result != .idle {
                guard let commandUUID,
                    let row = try Row.fetchOne(
                        db,
                        sql: "SELECT id, profile_uuid, request_type FROM command_outbox WHERE host_uuid = ? AND command_uuid = ?",
                        arguments: [host, commandUUID])
                else { return .failure(.unknownCommand) }
                try Self.record(
                    result, id: row["id"], command: commandUUID, profile: row["profile_uuid"], type: row["request_type"],
                    host: host, now: now, policy: policy, db)
            }
            // Nothing answered NotNow is offered in reply to that NotNow; a later poll may.
            let skip = result == .notNow ? "AND o.not_now = 0" : ""
            guard
                let next = try Row.fetchOne(
                    db,
                    sql: Self.queuedCommandColumns + """
                         WHERE o.host_uuid = ? AND o.command_uuid IS NOT NULL AND o.status IN ('queued', 'sent') \(skip)
                        ORDER BY o.id LIMIT 1
                        """, arguments: [host])
            else { return .success(nil) }
            try db.execute(
                sql: "UPDATE command_outbox SET status = 'sent', not_now = 0, updated_at = ? WHERE id = ?",
                arguments: [now, next["id"] as Int64])
            return .success(Self.queuedCommand(next))
        }
    }

    private static func record(
        _ result: CommandResult, id: Int64, command: String, profile: String, type: HostCommandKind, host: String, now: String,
        policy: RedeliveryPolicy, _ db: Database
    ) throws {
        func close(_ status: OutboxStatus, notNow: Bool = false) throws {
            try db.execute(
                sql: "UPDATE command_outbox SET status = ?, not_now = ?, updated_at = ? WHERE id = ?",
                arguments: [status, notNow, now, id])
        }
        // A delivery answers to its current command only: the late answer to a command
        // that a re-delivery replaced changes nothing.
        switch result {
        case .acknowledged:
            try close(.acknowledged)
            if type == .removeProfile {
                try db.execute(
                    sql: """
                        DELETE FROM host_profile WHERE host_uuid = ? AND profile_uuid = ? AND operation = 'remove'
                            AND command_uuid = ?
                        """, arguments: [host, profile, command])
            } else {
                // Installed: the proxy URL is spent; ProfileList will mark it verified.
                try db.execute(
                    sql: """
                        UPDATE host_profile SET acknowledged_at = ?, upstream_failures = 0, updated_at = ?
                        WHERE host_uuid = ? AND profile_uuid = ? AND command_uuid = ?
                        """, arguments: [now, now, host, profile, command])
                try db.execute(sql: RenewalSQL.certificateListAfterInstall, arguments: [host, now, profile, host])
            }
        case .error(let detail):
            let earlier = type == .installProfile ? try certificateFailures(db, host: host, profile: profile, command: command) : nil
            let failures = (earlier ?? 0) + 1
            let decision = policy.afterInstallError(takesCertificate: earlier != nil, failures: failures, detail: detail, now: Date())
            if earlier != nil {
                try recordRedelivery(db, host: host, profile: profile, command: command, failures: failures, decision, stamp: now)
                return
            }
            try close(.error)
            try db.execute(
                sql: """
                    UPDATE host_profile SET status = ?, detail = ?, updated_at = ?
                    WHERE host_uuid = ? AND profile_uuid = ? AND command_uuid = ?
                    """, arguments: [decision.status, decision.detail, now, host, profile, command])
        case .profileList(let identifiers):
            try close(.acknowledged)
            try verify(host: host, installed: Set(identifiers), now: now, db)
        case .certificateList(let certificates):
            try close(.acknowledged)
            try db.execute(sql: "DELETE FROM host_certificate WHERE host_uuid = ?", arguments: [host])
            // Only the profiles the list names: every host answers this at each verify interval.
            var known: Set<String> = []
            for candidate in Set(certificates.compactMap { RenewalID.profile(inSubject: $0.subject) }) {
                if try String.fetchOne(db, sql: "SELECT uuid FROM profile WHERE uuid = ?", arguments: [candidate]) != nil {
                    known.insert(candidate)
                }
            }
            for certificate in certificates {
                let profile = RenewalID.profile(inSubject: certificate.subject).flatMap { known.contains($0) ? $0 : nil }
                try db.execute(
                    sql: """
                        INSERT OR REPLACE INTO host_certificate (host_uuid, fingerprint, subject, not_after, is_identity, seen_at,
                            serial, not_before, profile_uuid)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        host, certificate.fingerprint, certificate.subject, certificate.notAfter, certificate.isIdentity, now,
                        certificate.serial, certificate.notBefore, profile,
                    ])
            }
            var recorded: [String: HeldCertificate] = [:]
            for row in try Row.fetchAll(db, sql: HostProfileCertificate.standingColumns + " WHERE host_uuid = ?", arguments: [host]) {
                recorded[row["profile_uuid"]] = HeldCertificate(
                    subject: row["subject"], serial: row["serial"], notBefore: Self.date(row["not_before"]) ?? .distantPast,
                    notAfter: Self.date(row["not_after"]) ?? .distantPast, fingerprint: row["fingerprint"])
            }
            let changes = HeldCertificate.changes(
                listed: certificates.compactMap(\.held), recorded: recorded, known: known, now: Self.date(now) ?? Date())
            for (profile, standing) in changes {
                try db.execute(sql: HostProfileCertificate.upsert, arguments: StatementArguments(HostProfileCertificate.values(host, profile, standing, now)))
            }
        case .notNow:
            try close(.queued, notNow: true)
        case .idle:
            break
        }
    }

    /// The failures so far of the install delivery `command` of a profile that takes a
    /// certificate from a CA; nil for any other profile.
    private static func certificateFailures(_ db: Database, host: String, profile: String, command: String) throws -> Int? {
        try Int.fetchOne(
            db,
            sql: """
                SELECT hp.upstream_failures FROM host_profile hp
                WHERE hp.host_uuid = ? AND hp.profile_uuid = ? AND hp.command_uuid = ?
                    AND EXISTS (SELECT 1 FROM profile_certificate_authority pc WHERE pc.profile_uuid = hp.profile_uuid)
                """, arguments: [host, profile, command])
    }

    /// Records what `ProfileListReconciliation` makes of a host's ProfileList.
    private static func verify(host: String, installed: Set<String>, now: String, _ db: Database) throws {
        let deliveries = try Row.fetchAll(
            db,
            sql: "SELECT profile_uuid, identifier, operation, status, acknowledged_at, retries FROM host_profile WHERE host_uuid = ?",
            arguments: [host]
        ).map { row in
            ProfileListReconciliation.Delivery(
                id: row["profile_uuid"] as String, identifier: row["identifier"], state: deliveryState(row),
                retries: row["retries"])
        }
        let result = ProfileListReconciliation.reconcile(deliveries, installed: installed)
        for judgement in result.outcomes {
            switch judgement.outcome {
            case .verified:
                try setDelivery(db, host: host, profile: judgement.id, .verified, detail: nil, now: now)
            case .fail(let detail):
                try setDelivery(db, host: host, profile: judgement.id, .failed, detail: detail, now: now)
            case .redeliver(let detail):
                try db.execute(
                    sql: """
                        UPDATE host_profile SET status = 'pending', retries = retries + 1, command_uuid = NULL,
                            acknowledged_at = NULL, detail = ?, updated_at = ?
                        WHERE host_uuid = ? AND profile_uuid = ?
                        """, arguments: [detail, now, host, judgement.id])
                try queue(db, host: host, profile: judgement.id, .installProfile, now: now)
            }
        }
        try db.execute(sql: "DELETE FROM host_unexpected_profile WHERE host_uuid = ?", arguments: [host])
        for identifier in result.unexpected {
            try db.execute(
                sql: "INSERT INTO host_unexpected_profile (host_uuid, identifier, seen_at) VALUES (?, ?, ?)",
                arguments: [host, identifier, now])
        }
    }
}
