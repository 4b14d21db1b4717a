import Foundation
import GRDB
import SCEPOpsCore

/// Why the MDM channel refuses a device (answered 400, never 401: a 401 unenrolls).
public enum MDMRefusal: Error, Sendable, Hashable {
    case unknownEnrollSecret
    /// The identity already belongs to another host.
    case identityReused
    /// The host is bound to another identity, which has not checked out, and no operator
    /// allowed a new one.
    case hostBoundElsewhere
    /// The identity is not the one bound to this host.
    case identityNotBound
    case unknownCommand

    /// For logs and metrics.
    public var reason: String {
        switch self {
        case .unknownEnrollSecret: "unknown_enroll_secret"
        case .identityReused: "identity_reused"
        case .hostBoundElsewhere: "host_bound_to_another_identity"
        case .identityNotBound: "identity_not_bound"
        case .unknownCommand: "unknown_command"
        }
    }
}

/// A device's result for a command (apple-mdm-and-apns.md §2).
public enum CommandResult: Sendable, Hashable {
    case acknowledged
    /// An acknowledged ProfileList: the PayloadIdentifiers of the managed profiles.
    case profileList([String])
    /// An acknowledged CertificateList: the certificates the host holds.
    case certificateList([ReportedCertificate])
    case error(detail: String)
    case notNow
    case idle
}

/// A certificate from a host's CertificateList answer, read by the server.
public struct ReportedCertificate: Sendable, Hashable {
    public var subject: String
    /// SHA-256 of the DER, hex.
    public var fingerprint: String
    /// ISO 8601.
    public var notAfter: String
    public var isIdentity: Bool

    public init(subject: String, fingerprint: String, notAfter: String, isIdentity: Bool) {
        self.subject = subject
        self.fingerprint = fingerprint
        self.notAfter = notAfter
        self.isIdentity = isIdentity
    }
}

/// What the check-in and command channel read and write.
public protocol MDMStore: Sendable {
    /// The team whose enroll secret this is.
    func team(enrollSecret: Secret) throws(StoreError) -> String?
    /// At Authenticate: binds the identity to the host (`IdentityBinding` decides whether
    /// it may) and records the host in its team. A refusal changes nothing.
    func authenticate(host: String, serial: String?, team: String, identity: String, now: Date) throws(StoreError)
        -> Result<Void, MDMRefusal>
    /// `scepops hosts allow-reenroll`: the host may bind a new identity until `until`, once.
    /// False when there is no such host.
    func allowReenrollment(host: String, until: Date) throws(StoreError) -> Bool
    /// Every later request: the identity must be the host's own.
    func isBound(host: String, identity: String) throws(StoreError) -> Bool
    func updatePush(host: String, token: String, pushMagic: String, topic: String) throws(StoreError)
    /// CheckOut: the host leaves its team.
    func checkOut(host: String) throws(StoreError)
    /// Records a command's result and returns the next command for the host, if any.
    func report(host: String, commandUUID: String?, result: CommandResult) throws(StoreError)
        -> Result<QueuedCommand?, MDMRefusal>
}

extension SQLiteStore {
    /// Re-deliveries of a profile missing from a host's ProfileList before it fails.
    public static let verificationRetries = 3
}

extension SQLiteStore: MDMStore {
    public func team(enrollSecret: Secret) throws(StoreError) -> String? {
        try read { db in
            try String.fetchOne(
                db, sql: "SELECT name FROM team WHERE enroll_secret_digest = ?", arguments: [box.digest(enrollSecret)])
        }
    }

    public func authenticate(host: String, serial: String?, team: String, identity: String, now: Date) throws(StoreError)
        -> Result<Void, MDMRefusal>
    {
        let decision: IdentityBinding.Decision
        do {
            decision = try pool.write { db in
                let owner = try String.fetchOne(
                    db, sql: "SELECT host_uuid FROM device_identity WHERE fingerprint = ?", arguments: [identity])
                let bound = try Row.fetchOne(
                    db, sql: "SELECT fingerprint, checked_out_at FROM device_identity WHERE host_uuid = ?", arguments: [host]
                ).map { IdentityBinding.Bound(fingerprint: $0["fingerprint"], checkedOut: ($0["checked_out_at"] as String?) != nil) }
                let allowed = try String.fetchOne(db, sql: "SELECT reenroll_allowed_until FROM host WHERE uuid = ?", arguments: [host])
                    .flatMap { try? Date($0, strategy: .iso8601) }
                let decision = IdentityBinding.decide(
                    host: host, presented: identity, ownerOfPresented: owner, bound: bound, allowedUntil: allowed, now: now)
                guard case .bind(let usesAllowance) = decision else { return decision }
                if usesAllowance {
                    try db.execute(sql: "UPDATE host SET reenroll_allowed_until = NULL WHERE uuid = ?", arguments: [host])
                }
                // A new host's row first (the binding refers to it); `enroll` then gives it its team.
                try db.execute(
                    sql: "INSERT OR IGNORE INTO host (uuid, serial, team, enrolled_at) VALUES (?, ?, NULL, ?)",
                    arguments: [host, serial, Self.timestamp(now)])
                try db.execute(sql: "DELETE FROM device_identity WHERE host_uuid = ?", arguments: [host])
                try db.execute(
                    sql: "INSERT INTO device_identity (fingerprint, host_uuid, bound_at) VALUES (?, ?, ?)",
                    arguments: [identity, host, Self.timestamp(now)])
                return decision
            }
        } catch {
            throw Self.databaseError(error, path: path)
        }
        switch decision {
        case .refuseReused: return .failure(.identityReused)
        case .refuseRebind: return .failure(.hostBoundElsewhere)
        case .bind: break
        }
        try enroll(host: host, serial: serial, team: team)
        return .success(())
    }

    public func allowReenrollment(host: String, until: Date) throws(StoreError) -> Bool {
        do {
            return try pool.write { db in
                try db.execute(
                    sql: "UPDATE host SET reenroll_allowed_until = ? WHERE uuid = ?", arguments: [Self.timestamp(until), host])
                return db.changesCount == 1
            }
        } catch {
            throw Self.databaseError(error, path: path)
        }
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
                    sql: """
                        UPDATE host SET push_token = ?, push_magic = ?, push_topic = ?, push_stale_at = NULL, last_seen_at = ?
                        WHERE uuid = ?
                        """,
                    arguments: [token, pushMagic, topic, Self.timestamp(), host])
            }
        } catch {
            throw Self.databaseError(error, path: path)
        }
    }

    public func checkOut(host: String) throws(StoreError) {
        try enroll(host: host, serial: nil, team: nil)
        do {
            try pool.write { db in
                try db.execute(
                    sql: "UPDATE device_identity SET checked_out_at = ? WHERE host_uuid = ?", arguments: [Self.timestamp(), host])
            }
        } catch {
            throw Self.databaseError(error, path: path)
        }
    }

    /// How stale `last_seen_at` may get before an Idle poll writes it: idle polls are the
    /// bulk of MDM traffic and should not each take the write lock.
    static let lastSeenResolution: TimeInterval = 60

    public func report(host: String, commandUUID: String?, result: CommandResult) throws(StoreError)
        -> Result<QueuedCommand?, MDMRefusal>
    {
        if result == .idle {
            let quiet: Bool = try read { db in
                let seen = try String.fetchOne(db, sql: "SELECT last_seen_at FROM host WHERE uuid = ?", arguments: [host])
                let fresh = seen.flatMap { try? Date($0, strategy: .iso8601) }.map {
                    Date().timeIntervalSince($0) < Self.lastSeenResolution
                } ?? false
                let queued = try Bool.fetchOne(
                    db,
                    sql: """
                        SELECT EXISTS (SELECT 1 FROM command_outbox WHERE host_uuid = ? AND command_uuid IS NOT NULL
                            AND status IN ('queued', 'sent'))
                        """, arguments: [host]) ?? false
                return fresh && !queued
            }
            if quiet { return .success(nil) }
        }
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
                    try record(
                        result, id: row["id"], command: commandUUID, profile: row["profile_uuid"], type: row["request_type"],
                        host: host, now: now, db)
                }
                // Nothing answered NotNow is offered in reply to that NotNow; a later poll may.
                let skip = result == .notNow ? "AND o.not_now = 0" : ""
                guard let next = try Row.fetchOne(
                    db,
                    sql: QueuedCommand.select + """
                         WHERE o.host_uuid = ? AND o.command_uuid IS NOT NULL AND o.status IN ('queued', 'sent') \(skip)
                        ORDER BY o.id LIMIT 1
                        """, arguments: [host])
                else { return .success(nil) }
                try db.execute(
                    sql: "UPDATE command_outbox SET status = 'sent', not_now = 0, updated_at = ? WHERE id = ?",
                    arguments: [now, next["id"] as Int64])
                return .success(QueuedCommand(row: next))
            }
        } catch {
            throw Self.databaseError(error, path: path)
        }
    }

    private func record(
        _ result: CommandResult, id: Int64, command: String, profile: String, type: HostCommandKind, host: String, now: String,
        _ db: Database
    ) throws {
        // A delivery answers to its current command only: the late answer to a command
        // that a re-delivery replaced changes nothing.
        switch result {
        case .acknowledged:
            try db.execute(sql: "UPDATE command_outbox SET status = 'acknowledged', updated_at = ? WHERE id = ?", arguments: [now, id])
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
            }
        case .error(let detail):
            try db.execute(sql: "UPDATE command_outbox SET status = 'error', updated_at = ? WHERE id = ?", arguments: [now, id])
            try db.execute(
                sql: """
                    UPDATE host_profile SET status = 'failed', detail = ?, updated_at = ?
                    WHERE host_uuid = ? AND profile_uuid = ? AND command_uuid = ?
                    """, arguments: [detail, now, host, profile, command])
        case .profileList(let identifiers):
            try db.execute(sql: "UPDATE command_outbox SET status = 'acknowledged', updated_at = ? WHERE id = ?", arguments: [now, id])
            try verify(host: host, installed: Set(identifiers), now: now, db)
        case .certificateList(let certificates):
            try db.execute(sql: "UPDATE command_outbox SET status = 'acknowledged', updated_at = ? WHERE id = ?", arguments: [now, id])
            try db.execute(sql: "DELETE FROM host_certificate WHERE host_uuid = ?", arguments: [host])
            for certificate in certificates {
                try db.execute(
                    sql: """
                        INSERT OR REPLACE INTO host_certificate (host_uuid, fingerprint, subject, not_after, is_identity, seen_at)
                        VALUES (?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [host, certificate.fingerprint, certificate.subject, certificate.notAfter, certificate.isIdentity, now])
            }
        case .notNow:
            try db.execute(sql: "UPDATE command_outbox SET status = 'queued', not_now = 1, updated_at = ? WHERE id = ?", arguments: [now, id])
        case .idle:
            break
        }
    }

    /// Marks what the device lists as verified; what it should have but lacks goes out
    /// again, up to `verificationRetries` times, then fails; what it has but the state did
    /// not deliver is recorded for drift.
    private func verify(host: String, installed: Set<String>, now: String, _ db: Database) throws {
        let deliveries = try Row.fetchAll(
            db,
            sql: """
                SELECT profile_uuid, identifier, status, acknowledged_at, retries FROM host_profile
                WHERE host_uuid = ? AND operation = 'install' AND status IN ('sent', 'verified')
                """, arguments: [host])
        for row in deliveries {
            let identifier: String = row["identifier"]
            let profile: String = row["profile_uuid"]
            // Rendered but not yet acknowledged: still on its way. A listed identifier is
            // then the profile it replaces (same PayloadIdentifier), not this one.
            let onItsWay = (row["status"] as String) == "sent" && (row["acknowledged_at"] as String?) == nil
            if onItsWay { continue }
            if installed.contains(identifier) {
                try db.execute(
                    sql: "UPDATE host_profile SET status = 'verified', detail = NULL, updated_at = ? WHERE host_uuid = ? AND profile_uuid = ?",
                    arguments: [now, host, profile])
                continue
            }
            let retries: Int = row["retries"]
            if retries >= Self.verificationRetries {
                try db.execute(
                    sql: "UPDATE host_profile SET status = 'failed', detail = ?, updated_at = ? WHERE host_uuid = ? AND profile_uuid = ?",
                    arguments: [
                        "the profile is missing from the device's profile list after \(retries) re-deliveries", now, host,
                        profile,
                    ])
                continue
            }
            try db.execute(
                sql: """
                    UPDATE host_profile SET status = 'pending', retries = retries + 1, command_uuid = NULL,
                        acknowledged_at = NULL, detail = 'missing from the device''s profile list', updated_at = ?
                    WHERE host_uuid = ? AND profile_uuid = ?
                    """, arguments: [now, host, profile])
            try db.execute(
                sql: "INSERT INTO command_outbox (host_uuid, profile_uuid, request_type, created_at) VALUES (?, ?, 'InstallProfile', ?)",
                arguments: [host, profile, now])
        }
        let known = Set(try String.fetchAll(db, sql: "SELECT identifier FROM host_profile WHERE host_uuid = ?", arguments: [host]))
        try db.execute(sql: "DELETE FROM host_unexpected_profile WHERE host_uuid = ?", arguments: [host])
        for identifier in installed.subtracting(known).sorted() {
            try db.execute(
                sql: "INSERT INTO host_unexpected_profile (host_uuid, identifier, seen_at) VALUES (?, ?, ?)",
                arguments: [host, identifier, now])
        }
    }
}
