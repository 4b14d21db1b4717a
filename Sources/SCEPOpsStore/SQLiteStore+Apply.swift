import Foundation
import GRDB
import SCEPOpsCore

/// Stored as its RequestType; the outbox's CHECK keeps the column to the set.
extension HostCommandKind: DatabaseValueConvertible {}

extension SQLiteStore: ApplyWriter {
    /// A host command waiting to be written after the apply row that owns it.
    private struct Command {
        var host: String
        var profile: String
        var type: HostCommandKind
    }

    public func apply(_ request: ApplyRequest) throws(StoreError) -> ApplyRecord {
        do {
            return try pool.writeWithoutTransaction { db in
                var record: ApplyRecord!
                try db.inTransaction(.immediate) {
                    record = try write(request, db)
                    try Self.pauseForTests()
                    return .commit
                }
                return record
            }
        } catch {
            throw Self.databaseError(error, path: path)
        }
    }

    public func recordFailure(_ request: ApplyRequest, detail: String) throws(StoreError) {
        do {
            _ = try pool.write { db in
                try insertApply(db, request, result: "failed", detail: detail)
            }
        } catch {
            throw Self.databaseError(error, path: path)
        }
    }

    private func write(_ request: ApplyRequest, _ db: Database) throws -> ApplyRecord {
        let plan = request.plan
        let revision = try Self.revision(db)
        guard revision == plan.stateRevision else {
            throw StoreError(
                .stalePlan,
                "the state changed since the plan was made (revision \(plan.stateRevision), now \(revision)); nothing was applied. Plan again."
            )
        }
        let now = Self.timestamp()
        let commit = plan.source.commit
        let desired = request.desired
        let cas = Dictionary(uniqueKeysWithValues: desired.certificateAuthorities.map { ($0.name, $0) })
        let teams = Dictionary(uniqueKeysWithValues: desired.teams.map { ($0.name, $0) })
        let profiles = Planner(secretDigest: box.digest).profileInstances(desired)
        var commands: [Command] = []

        func hosts(in team: String) throws -> [String] {
            try String.fetchAll(db, sql: "SELECT uuid FROM host WHERE team = ? ORDER BY uuid", arguments: [team])
        }
        /// Queues a profile command for every host of the team, and records the delivery.
        func deliver(_ type: HostCommandKind, profile uuid: String, identifier: String, team: String) throws {
            for host in try hosts(in: team) {
                try Self.recordDelivery(db, host: host, profile: uuid, identifier: identifier, type: type, now: now)
                commands.append(Command(host: host, profile: uuid, type: type))
            }
        }
        func profileUUID(_ key: ProfileKey) throws -> String? {
            try String.fetchOne(
                db, sql: "SELECT uuid FROM profile WHERE team = ? AND identifier = ?", arguments: [key.team, key.identifier])
        }
        func writeCA(_ name: String, insert: Bool) throws {
            let ca = cas[name]!
            let certificate = request.certificates[name]
            let values: [(any DatabaseValueConvertible)?] = [
                ca.url, Data(box.seal(ca.challenge)), box.digest(ca.challenge), ca.file,
                certificate.map { Data($0.der) }, certificate?.summary.subject, certificate?.summary.fingerprint,
                certificate?.summary.notAfter, commit, now, name,
            ]
            if insert {
                try db.execute(
                    sql: """
                        INSERT INTO certificate_authority (url, challenge_sealed, challenge_digest, file, ca_certificate,
                            ca_subject, ca_fingerprint, ca_not_after, last_commit, updated_at, name)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, arguments: StatementArguments(values))
            } else {
                // A certificate is only fetched for a new URL: keep the one on record otherwise.
                try db.execute(
                    sql: """
                        UPDATE certificate_authority SET url = ?, challenge_sealed = ?, challenge_digest = ?, file = ?,
                            ca_certificate = COALESCE(?, ca_certificate), ca_subject = COALESCE(?, ca_subject),
                            ca_fingerprint = COALESCE(?, ca_fingerprint), ca_not_after = COALESCE(?, ca_not_after),
                            last_commit = ?, updated_at = ?
                        WHERE name = ?
                        """, arguments: StatementArguments(values))
            }
        }

        for change in plan.changes {
            switch (change.subject, change.action) {
            case (.profile(let key), .delete):
                guard let uuid = try profileUUID(key) else { continue }
                try deliver(.removeProfile, profile: uuid, identifier: key.identifier, team: key.team)
                try db.execute(sql: "DELETE FROM profile WHERE uuid = ?", arguments: [uuid])
            case (.profile(let key), .create), (.profile(let key), .replace):
                let profile = profiles[key]!
                let uuid = "a" + UUID().uuidString
                try db.execute(
                    sql: """
                        INSERT INTO profile (uuid, team, identifier, path, content, checksum, last_commit, updated_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [uuid, key.team, key.identifier, profile.path, Data(profile.content),
                        SecretBox.sha256(profile.content), commit, now])
                for ca in profile.certificateAuthorities {
                    try db.execute(
                        sql: "INSERT INTO profile_certificate_authority (profile_uuid, ca_name) VALUES (?, ?)",
                        arguments: [uuid, ca])
                }
                try deliver(.installProfile, profile: uuid, identifier: key.identifier, team: key.team)
            case (.profile(let key), .update):
                let profile = profiles[key]!
                guard let uuid = try profileUUID(key) else { continue }
                try db.execute(
                    sql: "UPDATE profile SET path = ?, content = ?, checksum = ?, last_commit = ?, updated_at = ? WHERE uuid = ?",
                    arguments: [profile.path, Data(profile.content), SecretBox.sha256(profile.content), commit, now, uuid])
                try deliver(.installProfile, profile: uuid, identifier: key.identifier, team: key.team)
            case (.team(let name), .delete):
                try db.execute(sql: "DELETE FROM team WHERE name = ?", arguments: [name])
            case (.team(let name), .create), (.team(let name), .update), (.team(let name), .replace):
                let team = teams[name]!
                try db.execute(
                    sql: """
                        INSERT INTO team (name, enroll_secret_digest, file, last_commit, updated_at) VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT (name) DO UPDATE SET enroll_secret_digest = excluded.enroll_secret_digest,
                            file = excluded.file, last_commit = excluded.last_commit, updated_at = excluded.updated_at
                        """, arguments: [team.name, box.digest(team.enrollSecret), team.file, commit, now])
            case (.certificateAuthority(let name), .delete):
                try db.execute(sql: "DELETE FROM certificate_authority WHERE name = ?", arguments: [name])
            case (.certificateAuthority(let name), .replace):
                if let old = change.previousName {
                    try db.execute(sql: "DELETE FROM certificate_authority WHERE name = ?", arguments: [old])
                }
                try writeCA(name, insert: true)
            case (.certificateAuthority(let name), .create):
                try writeCA(name, insert: true)
            case (.certificateAuthority(let name), .update):
                try writeCA(name, insert: false)
                if change.fields.contains(where: { $0.path == "challenge" }) {
                    // A new challenge reaches hosts only in a re-rendered profile.
                    let users = try Row.fetchAll(
                        db,
                        sql: """
                            SELECT p.uuid, p.identifier, p.team FROM profile p
                            JOIN profile_certificate_authority pc ON pc.profile_uuid = p.uuid
                            WHERE pc.ca_name = ? ORDER BY p.team, p.identifier
                            """, arguments: [name])
                    for row in users {
                        try deliver(.installProfile, profile: row["uuid"], identifier: row["identifier"], team: row["team"])
                    }
                }
            }
        }

        try db.execute(sql: "UPDATE meta SET value = ? WHERE key = 'revision'", arguments: [revision + 1])
        let record = try insertApply(db, request, result: "applied", detail: request.note)
        let statement = try db.makeStatement(
            sql: """
                INSERT INTO command_outbox (host_uuid, profile_uuid, request_type, apply_id, created_at)
                VALUES (?, ?, ?, ?, ?)
                """)
        for command in commands {
            try statement.execute(arguments: [command.host, command.profile, command.type, record.id, now])
        }
        return record
    }

    /// A host's delivery of a profile, (re)set to pending: the worker renders it next.
    static func recordDelivery(
        _ db: Database, host: String, profile: String, identifier: String, type: HostCommandKind, now: String
    ) throws {
        try db.execute(
            sql: """
                INSERT INTO host_profile (host_uuid, profile_uuid, identifier, operation, status, retries, updated_at)
                VALUES (?, ?, ?, ?, 'pending', 0, ?)
                ON CONFLICT (host_uuid, profile_uuid) DO UPDATE SET
                    operation = excluded.operation, status = 'pending', command_uuid = NULL, detail = NULL,
                    retries = 0, upstream_failures = 0, acknowledged_at = NULL, updated_at = excluded.updated_at
                """, arguments: [host, profile, identifier, type == .installProfile ? "install" : "remove", now])
    }

    @discardableResult
    private func insertApply(_ db: Database, _ request: ApplyRequest, result: String, detail: String?) throws -> ApplyRecord {
        let plan = request.plan
        var counts: [PlannedChange.Action: Int] = [:]
        for action in PlannedChange.Action.allCases { counts[action] = plan.count(action) }
        let started = Self.timestamp(request.startedAt)
        let finished = Self.timestamp()
        try db.execute(
            sql: """
                INSERT INTO apply (commit_sha, ref, plan_hash, actor, version, started_at, finished_at, result,
                    created, updated, deleted, replaced, detail)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [plan.source.commit, plan.source.ref, request.planHash, request.actor, request.version, started,
                finished, result, counts[.create], counts[.update], counts[.delete], counts[.replace], detail])
        return ApplyRecord(
            id: db.lastInsertedRowID, commit: plan.source.commit, ref: plan.source.ref, planHash: request.planHash,
            actor: request.actor, version: request.version, startedAt: started, finishedAt: finished, result: result,
            counts: counts, detail: detail)
    }

    /// Tests stop an apply inside its transaction to kill it there: with
    /// `SCEPOPS_TEST_HOLD_APPLY=FILE`, the apply writes FILE and waits, uncommitted.
    private static func pauseForTests() throws {
        guard let marker = ProcessInfo.processInfo.environment["SCEPOPS_TEST_HOLD_APPLY"] else { return }
        _ = FileManager.default.createFile(atPath: marker, contents: Data("inside the apply transaction\n".utf8))
        for _ in 0..<600 where FileManager.default.fileExists(atPath: marker) {
            usleep(100_000)
        }
    }
}
