import Foundation
import PostgresNIO
import SCEPOpsCore

extension PostgresStore: LeaseStore {
    /// The lease is a session advisory lock on a connection of its own, held for the apply:
    /// PostgreSQL lets go of it when the holder's session ends, however it ends, so a
    /// killed apply's lease is free at once, on any machine. The `lock_lease` row names the
    /// holder for whoever is refused.
    public func acquireLease(_ lease: Lease) async throws(StoreError) -> String? {
        let deadline = Date().addingTimeInterval(lease.wait)
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: connectionConfiguration(), id: 0, logger: postgresLog)
        } catch {
            throw databaseError(error)
        }
        do {
            while true {
                let taken = try await connection.rows("SELECT pg_try_advisory_lock(\(Self.leaseLock)) AS taken", postgresLog).first?
                    .get("taken", Bool.self) == true
                if taken { break }
                guard Date() < deadline else { throw try await heldError() }
                try? await Task.sleep(for: .milliseconds(250))
            }
            let note: String? = try await write { transaction in
                let now = Date()
                let holder = try await transaction.rows("SELECT * FROM lock_lease WHERE id = 1 FOR UPDATE", postgresLog).first.map(Self.holder)
                // The advisory lock is ours: a row left behind is a holder whose session is gone.
                let note: String? =
                    switch LeaseCheck.decide(holder, now: now, processGone: true) {
                    case .free: nil
                    case .takeOver(let text): text
                    case .held(let message): throw StoreError(.locked, message)
                    }
                try await transaction.run(
                    """
                    INSERT INTO lock_lease (id, owner, host, pid, commit_sha, acquired_at, expires_at)
                    VALUES (1, \(lease.owner), \(lease.host), \(Int(lease.pid)), \(lease.commit), \(Self.timestamp(now)),
                        \(Self.timestamp(now.addingTimeInterval(lease.ttl))))
                    ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, host = excluded.host, pid = excluded.pid,
                        commit_sha = excluded.commit_sha, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
                    """, postgresLog)
                return note
            }
            leases.withLock { $0[lease.owner] = connection }
            return note
        } catch {
            try? await connection.close()
            throw databaseError(error)
        }
    }

    public func recordLeaseCommit(_ commit: String?, owner: String) async throws(StoreError) {
        try await write { connection in
            try await connection.run("UPDATE lock_lease SET commit_sha = \(commit) WHERE id = 1 AND owner = \(owner)", postgresLog)
        }
    }

    public func releaseLease(owner: String) async throws(StoreError) {
        try await write { connection in
            try await connection.run("DELETE FROM lock_lease WHERE id = 1 AND owner = \(owner)", postgresLog)
        }
        // Closing the session lets go of the advisory lock.
        if let connection = leases.withLock({ $0.removeValue(forKey: owner) }) {
            try? await connection.close()
        }
    }

    /// The advisory lock's key ("SCPL").
    static let leaseLock: Int64 = 0x5343_504C

    private func heldError() async throws -> StoreError {
        let holder = try await read { connection in
            try await connection.rows("SELECT * FROM lock_lease WHERE id = 1", postgresLog).first.map(Self.holder)
        }
        // The advisory lock is held: its holder is alive, whatever its row's expiry says.
        guard let holder else {
            return StoreError(.locked, "the state is locked by an apply that is starting; try again shortly")
        }
        return StoreError(.locked, LeaseCheck.heldMessage(holder))
    }

    private static func holder(_ row: PostgresRandomAccessRow) throws -> LeaseCheck.Holder {
        LeaseCheck.Holder(
            owner: try row.get("owner"), host: try row.get("host"), pid: Int32(try row.get("pid", Int.self)),
            commit: try row.get("commit_sha"), acquiredAt: try row.get("acquired_at"), expiresAt: try row.get("expires_at"))
    }
}

extension PostgresStore: ApplyWriter {
    public func apply(_ request: ApplyRequest) async throws(StoreError) -> ApplyRecord {
        try await transaction { connection in
            let record = try await self.writeApply(request, connection)
            try TestHold.pause()
            return record
        }
    }

    public func recordFailure(_ request: ApplyRequest, detail: String) async throws(StoreError) {
        _ = try await write { connection in try await self.insertApply(connection, request, result: .failed, detail: detail) }
    }

    /// The plan's rows in change order, then the host commands `HostCommandPlan` gives it,
    /// for the hosts each team had before the apply.
    private func writeApply(_ request: ApplyRequest, _ connection: PostgresConnection) async throws -> ApplyRecord {
        let plan = request.plan
        // The revision row, locked: a second apply waits here, then sees its plan is stale.
        let revision = try await Self.revision(connection, postgresLog, lock: true)
        try request.requireRevision(revision)
        let now = Self.timestamp()
        let commit = plan.source.commit
        let values = request.values(box)
        let (cas, teams, profiles) = (values.certificateAuthorities, values.teams, values.profiles)

        var before: [ProfileKey: String] = [:]
        for row in try await connection.rows("SELECT uuid, team, identifier FROM profile", postgresLog) {
            before[ProfileKey(team: try row.get("team"), identifier: try row.get("identifier"))] = try row.get("uuid")
        }
        var hosts: [String: [String]] = [:]
        for row in try await connection.rows("SELECT uuid, team FROM host WHERE team IS NOT NULL ORDER BY uuid", postgresLog) {
            hosts[try row.get("team", String.self), default: []].append(try row.get("uuid"))
        }
        var after = before

        func writeCA(_ name: String, insert: Bool) async throws {
            let ca = cas[name]!
            let certificate = request.certificates[name]
            let sealed = Data(box.seal(ca.challenge))
            let digest = box.digest(ca.challenge)
            let der = certificate.map { Data($0.der) }
            let summary = certificate?.summary
            if insert {
                try await connection.run(
                    """
                    INSERT INTO certificate_authority (name, url, challenge_sealed, challenge_digest, file, ca_certificate,
                        ca_subject, ca_fingerprint, ca_not_after, last_commit, updated_at, renewal_before, renewal_max_per_hour)
                    VALUES (\(name), \(ca.url), \(sealed), \(digest), \(ca.file), \(der), \(summary?.subject),
                        \(summary?.fingerprint), \(summary?.notAfter), \(commit), \(now), \(ca.renewal.before.map { Int($0) }), \(ca.renewal.maximumPerHour))
                    """, postgresLog)
            } else {
                // A certificate is only fetched for a new URL: keep the one on record otherwise.
                try await connection.run(
                    """
                    UPDATE certificate_authority SET url = \(ca.url), challenge_sealed = \(sealed), challenge_digest = \(digest),
                        file = \(ca.file), ca_certificate = COALESCE(\(der), ca_certificate),
                        ca_subject = COALESCE(\(summary?.subject), ca_subject),
                        ca_fingerprint = COALESCE(\(summary?.fingerprint), ca_fingerprint),
                        ca_not_after = COALESCE(\(summary?.notAfter), ca_not_after), last_commit = \(commit), updated_at = \(now),
                        renewal_before = \(ca.renewal.before.map { Int($0) }), renewal_max_per_hour = \(ca.renewal.maximumPerHour)
                    WHERE name = \(name)
                    """, postgresLog)
            }
        }

        for change in plan.changes {
            switch (change.subject, change.action) {
            case (.profile(let key), .delete):
                guard let uuid = after.removeValue(forKey: key) else { continue }
                try await connection.run("DELETE FROM profile WHERE uuid = \(uuid)", postgresLog)
            case (.profile(let key), .create), (.profile(let key), .replace):
                let profile = profiles[key]!
                let uuid = "a" + UUID().uuidString
                after[key] = uuid
                try await connection.run(
                    """
                    INSERT INTO profile (uuid, team, identifier, path, content, checksum, last_commit, updated_at)
                    VALUES (\(uuid), \(key.team), \(key.identifier), \(profile.path), \(Data(profile.content)),
                        \(SecretBox.sha256(profile.content)), \(commit), \(now))
                    """, postgresLog)
                for ca in profile.certificateAuthorities {
                    try await connection.run(
                        "INSERT INTO profile_certificate_authority (profile_uuid, ca_name) VALUES (\(uuid), \(ca))", postgresLog)
                }
            case (.profile(let key), .update):
                let profile = profiles[key]!
                guard let uuid = after[key] else { continue }
                try await connection.run(
                    """
                    UPDATE profile SET path = \(profile.path), content = \(Data(profile.content)),
                        checksum = \(SecretBox.sha256(profile.content)), last_commit = \(commit), updated_at = \(now)
                    WHERE uuid = \(uuid)
                    """, postgresLog)
            case (.team(let name), .delete):
                try await connection.run("DELETE FROM team WHERE name = \(name)", postgresLog)
            case (.team(let name), .create), (.team(let name), .update), (.team(let name), .replace):
                let team = teams[name]!
                try await connection.run(
                    """
                    INSERT INTO team (name, enroll_secret_digest, file, last_commit, updated_at)
                    VALUES (\(team.name), \(box.digest(team.enrollSecret)), \(team.file), \(commit), \(now))
                    ON CONFLICT (name) DO UPDATE SET enroll_secret_digest = excluded.enroll_secret_digest,
                        file = excluded.file, last_commit = excluded.last_commit, updated_at = excluded.updated_at
                    """, postgresLog)
            case (.certificateAuthority(let name), .delete):
                try await connection.run("DELETE FROM certificate_authority WHERE name = \(name)", postgresLog)
            case (.certificateAuthority(let name), .replace):
                if let old = change.previousName {
                    try await connection.run("DELETE FROM certificate_authority WHERE name = \(old)", postgresLog)
                }
                try await writeCA(name, insert: true)
            case (.certificateAuthority(let name), .create):
                try await writeCA(name, insert: true)
            case (.certificateAuthority(let name), .update):
                try await writeCA(name, insert: false)
            }
        }

        try await connection.run("UPDATE meta SET number = \(revision + 1) WHERE key = 'revision'", postgresLog)
        let record = try await insertApply(connection, request, result: .applied, detail: request.note)
        for delivery in HostCommandPlan.deliveries(for: plan, profiles: profiles) {
            let key = delivery.profile
            guard let uuid = delivery.kind == .removeProfile ? before[key] : after[key] else { continue }
            for host in hosts[key.team] ?? [] {
                try await Self.recordDelivery(connection, postgresLog, host: host, profile: uuid, identifier: key.identifier, delivery.kind, now: now)
                try await Self.queue(connection, postgresLog, host: host, profile: uuid, delivery.kind, applyID: record.id, now: now)
            }
        }
        return record
    }

    private func insertApply(_ connection: PostgresConnection, _ request: ApplyRequest, result: ApplyResult, detail: String?)
        async throws -> ApplyRecord
    {
        let plan = request.plan
        var counts: [PlannedChange.Action: Int] = [:]
        for action in PlannedChange.Action.allCases { counts[action] = plan.count(action) }
        let started = Self.timestamp(request.startedAt)
        let finished = Self.timestamp()
        let id = try await connection.rows(
            """
            INSERT INTO apply (commit_sha, ref, plan_hash, actor, version, started_at, finished_at, result,
                created, updated, deleted, replaced, detail)
            VALUES (\(plan.source.commit), \(plan.source.recordedRef), \(request.planHash), \(request.actor), \(request.version),
                \(started), \(finished), \(result), \(counts[.create] ?? 0), \(counts[.update] ?? 0), \(counts[.delete] ?? 0),
                \(counts[.replace] ?? 0), \(detail))
            RETURNING id
            """, postgresLog
        ).first!.get("id", Int64.self)
        return ApplyRecord(
            id: id, commit: plan.source.commit, ref: plan.source.recordedRef, planHash: request.planHash, actor: request.actor,
            version: request.version, startedAt: started, finishedAt: finished, result: result, counts: counts, detail: detail)
    }
}
