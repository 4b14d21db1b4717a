import Foundation
import GRDB
import SCEPOpsCore

extension SQLiteStore: ApplyWriter {
    public func apply(_ request: ApplyRequest) async throws(StoreError) -> ApplyRecord {
        do {
            return try await pool.writeWithoutTransaction { db in
                var record: ApplyRecord?
                try db.inTransaction(.immediate) {
                    record = try self.writeApply(request, db)
                    try TestHold.pause()
                    return .commit
                }
                return record!
            }
        } catch {
            throw Self.databaseError(error, path: path)
        }
    }

    public func recordFailure(_ request: ApplyRequest, detail: String) async throws(StoreError) {
        _ = try await write { db in
            try Self.insertApply(db, request, result: .failed, detail: detail)
        }
    }

    /// The plan's rows in change order, then the host commands `HostCommandPlan` gives it,
    /// for the hosts each team had before the apply.
    private func writeApply(_ request: ApplyRequest, _ db: Database) throws -> ApplyRecord {
        let plan = request.plan
        let revision = try Self.revision(db)
        try request.requireRevision(revision)
        let now = Self.timestamp()
        let commit = plan.source.commit
        let values = request.values(box)
        let (cas, teams, profiles) = (values.certificateAuthorities, values.teams, values.profiles)

        // Read before anything changes: a removal goes to the profile row being deleted, and
        // to the hosts of a team being deleted.
        var before: [ProfileKey: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT uuid, team, identifier FROM profile") {
            before[ProfileKey(team: row["team"], identifier: row["identifier"])] = row["uuid"]
        }
        var hosts: [String: [String]] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT uuid, team FROM host WHERE team IS NOT NULL ORDER BY uuid") {
            hosts[row["team"], default: []].append(row["uuid"])
        }
        var after = before

        func writeCA(_ name: String, insert: Bool) throws {
            let ca = cas[name]!
            let certificate = request.certificates[name]
            let values: [(any DatabaseValueConvertible)?] = [
                ca.url, Data(box.seal(ca.challenge)), box.digest(ca.challenge), ca.file,
                certificate.map { Data($0.der) }, certificate?.summary.subject, certificate?.summary.fingerprint,
                certificate?.summary.notAfter, commit, now, ca.renewal.before.map { Int($0) }, ca.renewal.maximumPerHour, name,
            ]
            if insert {
                try db.execute(
                    sql: """
                        INSERT INTO certificate_authority (url, challenge_sealed, challenge_digest, file, ca_certificate,
                            ca_subject, ca_fingerprint, ca_not_after, last_commit, updated_at, renewal_before, renewal_max_per_hour, name)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, arguments: StatementArguments(values))
            } else {
                // A certificate is only fetched for a new URL: keep the one on record otherwise.
                try db.execute(
                    sql: """
                        UPDATE certificate_authority SET url = ?, challenge_sealed = ?, challenge_digest = ?, file = ?,
                            ca_certificate = COALESCE(?, ca_certificate), ca_subject = COALESCE(?, ca_subject),
                            ca_fingerprint = COALESCE(?, ca_fingerprint), ca_not_after = COALESCE(?, ca_not_after),
                            last_commit = ?, updated_at = ?, renewal_before = ?, renewal_max_per_hour = ?
                        WHERE name = ?
                        """, arguments: StatementArguments(values))
            }
        }

        for change in plan.changes {
            switch (change.subject, change.action) {
            case (.profile(let key), .delete):
                guard let uuid = after.removeValue(forKey: key) else { continue }
                try db.execute(sql: "DELETE FROM profile WHERE uuid = ?", arguments: [uuid])
            case (.profile(let key), .create), (.profile(let key), .replace):
                let profile = profiles[key]!
                let uuid = "a" + UUID().uuidString
                after[key] = uuid
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
            case (.profile(let key), .update):
                let profile = profiles[key]!
                guard let uuid = after[key] else { continue }
                try db.execute(
                    sql: "UPDATE profile SET path = ?, content = ?, checksum = ?, last_commit = ?, updated_at = ? WHERE uuid = ?",
                    arguments: [profile.path, Data(profile.content), SecretBox.sha256(profile.content), commit, now, uuid])
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
            }
        }

        try db.execute(sql: "UPDATE meta SET value = ? WHERE key = 'revision'", arguments: [revision + 1])
        let record = try Self.insertApply(db, request, result: .applied, detail: request.note)
        for delivery in HostCommandPlan.deliveries(for: plan, profiles: profiles) {
            let key = delivery.profile
            guard let uuid = delivery.kind == .removeProfile ? before[key] : after[key] else { continue }
            for host in hosts[key.team] ?? [] {
                try Self.recordDelivery(db, host: host, profile: uuid, identifier: key.identifier, delivery.kind, now: now)
                try Self.queue(db, host: host, profile: uuid, delivery.kind, applyID: record.id, now: now)
            }
        }
        return record
    }

    @discardableResult
    private static func insertApply(_ db: Database, _ request: ApplyRequest, result: ApplyResult, detail: String?) throws
        -> ApplyRecord
    {
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
            arguments: [plan.source.commit, plan.source.recordedRef, request.planHash, request.actor, request.version, started,
                finished, result, counts[.create], counts[.update], counts[.delete], counts[.replace], detail])
        return ApplyRecord(
            id: db.lastInsertedRowID, commit: plan.source.commit, ref: plan.source.recordedRef, planHash: request.planHash,
            actor: request.actor, version: request.version, startedAt: started, finishedAt: finished, result: result,
            counts: counts, detail: detail)
    }
}
