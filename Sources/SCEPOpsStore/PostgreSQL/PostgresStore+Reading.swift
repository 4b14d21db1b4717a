import Foundation
import PostgresNIO
import SCEPOpsCore

extension PostgresStore: CertificateReader {
    public func certificates() async throws(StoreError) -> [HostCertificate] {
        try await read { connection in
            HostCertificate.ordered(
                try await connection.rows(PostgresQuery(unsafeSQL: HostCertificate.query), postgresLog).map { row in
                    let serial = try row.get("serial", String?.self)
                    let standing = try row.get("standing_serial", String?.self)
                    return HostCertificate(
                        hostUDID: try row.get("host_uuid"), hostSerial: try row.get("host_serial"), team: try row.get("team"),
                        profile: try row.get("identifier"), certificateAuthority: try row.get("ca"), subject: try row.get("subject"),
                        serial: serial, notBefore: Self.date(try row.get("not_before", String?.self)),
                        notAfter: Self.date(try row.get("not_after", String.self)) ?? .distantPast,
                        renewal: standing != nil && standing == serial
                            ? RenewalProgress(
                                state: try row.get("renewal_state", String?.self).flatMap(RenewalState.init(rawValue:)) ?? .none,
                                attempts: try row.get("renewal_attempts", Int?.self) ?? 0,
                                lastAttemptAt: Self.date(try row.get("last_attempt_at", String?.self)),
                                retryAt: Self.date(try row.get("retry_at", String?.self)),
                                replacingSerial: try row.get("replacing_serial"),
                                replacingNotAfter: Self.date(try row.get("replacing_not_after", String?.self)))
                            : nil)
                })
        }
    }
}

extension PostgresStore: StateReader, ApplyHistoryReader, StatusReader {
    public func currentState() async throws(StoreError) -> CurrentState {
        try await read { connection in
            var state = CurrentState(revision: try await Self.revision(connection, postgresLog))
            for row in try await connection.rows(
                "SELECT name, url, challenge_digest, file, renewal_before, renewal_max_per_hour FROM certificate_authority", postgresLog)
            {
                let name = try row.get("name", String.self)
                state.certificateAuthorities[name] = CertificateAuthorityState(
                    name: name, url: try row.get("url"), challengeDigest: try row.get("challenge_digest"), file: try row.get("file"),
                    renewal: RenewalSettings(
                        before: try row.get("renewal_before", Int?.self).map(Double.init),
                        maximumPerHour: try row.get("renewal_max_per_hour", Int?.self)))
            }
            for row in try await connection.rows("SELECT name, enroll_secret_digest, file FROM team", postgresLog) {
                let name = try row.get("name", String.self)
                state.teams[name] = TeamState(name: name, enrollSecretDigest: try row.get("enroll_secret_digest"), file: try row.get("file"))
            }
            let cas = try await Self.certificateAuthorities(connection, postgresLog)
            for row in try await connection.rows("SELECT uuid, team, identifier, path, content FROM profile", postgresLog) {
                let key = ProfileKey(team: try row.get("team"), identifier: try row.get("identifier"))
                let uuid = try row.get("uuid", String.self)
                state.profiles[key] = ProfileState(
                    key: key, path: try row.get("path"), content: [UInt8](try row.get("content", Data.self)),
                    certificateAuthorities: cas[uuid] ?? [])
            }
            for row in try await connection.rows(
                "SELECT team, COUNT(*)::INTEGER AS hosts FROM host WHERE team IS NOT NULL GROUP BY team", postgresLog)
            {
                state.hostCounts[try row.get("team", String.self)] = try row.get("hosts", Int.self)
            }
            return state
        }
    }

    static func revision(_ connection: PostgresConnection, _ logger: Logger, lock: Bool = false) async throws -> Int {
        let query: PostgresQuery =
            lock
            ? "SELECT number FROM meta WHERE key = 'revision' FOR UPDATE" : "SELECT number FROM meta WHERE key = 'revision'"
        return try await connection.rows(query, postgresLog).first?.get("number", Int.self) ?? 0
    }

    /// Each profile's CAs, by profile uuid, in name order.
    static func certificateAuthorities(_ connection: PostgresConnection, _ logger: Logger) async throws -> [String: [String]] {
        var cas: [String: [String]] = [:]
        for row in try await connection.rows(
            "SELECT profile_uuid, ca_name FROM profile_certificate_authority ORDER BY ca_name", postgresLog)
        {
            cas[try row.get("profile_uuid", String.self), default: []].append(try row.get("ca_name"))
        }
        return cas
    }

    public func challenge(of name: String) async throws(StoreError) -> Secret? {
        let sealed: Data? = try await read { connection in
            try await connection.rows(
                "SELECT challenge_sealed FROM certificate_authority WHERE name = \(name)", postgresLog
            ).first?.get("challenge_sealed", Data.self)
        }
        guard let sealed else { return nil }
        return try box.openSecret([UInt8](sealed))
    }

    public func applies() async throws(StoreError) -> [ApplyRecord] {
        try await read { connection in
            try await connection.rows("SELECT * FROM apply ORDER BY id", postgresLog).map(Self.applyRecord)
        }
    }

    static func applyRecord(_ row: PostgresRandomAccessRow) throws -> ApplyRecord {
        ApplyRecord(
            id: try row.get("id"), commit: try row.get("commit_sha"), ref: try row.get("ref"), planHash: try row.get("plan_hash"),
            actor: try row.get("actor"), version: try row.get("version"), startedAt: try row.get("started_at"),
            finishedAt: try row.get("finished_at"), result: try row.get("result"),
            counts: [
                .create: try row.get("created"), .update: try row.get("updated"), .delete: try row.get("deleted"),
                .replace: try row.get("replaced"),
            ],
            detail: try row.get("detail"))
    }

    public func status() async throws(StoreError) -> StateStatus {
        try await read { connection in
            let authorities = try await connection.rows(
                """
                SELECT name, url, file, ca_subject, ca_fingerprint, ca_not_after, last_commit, updated_at, renewal_before,
                    renewal_max_per_hour
                FROM certificate_authority ORDER BY name
                """, postgresLog
            ).map { row in
                let subject = try row.get("ca_subject", String?.self)
                return StateStatus.CertificateAuthorityRow(
                    name: try row.get("name"), url: try row.get("url"), file: try row.get("file"),
                    certificate: try subject.map {
                        CACertificateSummary(subject: $0, fingerprint: try row.get("ca_fingerprint"), notAfter: try row.get("ca_not_after"))
                    }, lastCommit: try row.get("last_commit"), updatedAt: try row.get("updated_at"),
                    renewal: RenewalSettings(
                        before: try row.get("renewal_before", Int?.self).map(Double.init), maximumPerHour: try row.get("renewal_max_per_hour", Int?.self)))
            }
            let teams = try await connection.rows(
                """
                SELECT t.name, t.file, t.last_commit, t.updated_at,
                    (SELECT COUNT(*)::INTEGER FROM host h WHERE h.team = t.name) AS hosts,
                    (SELECT COUNT(*)::INTEGER FROM profile p WHERE p.team = t.name) AS profiles
                FROM team t ORDER BY t.name
                """, postgresLog
            ).map { row in
                StateStatus.TeamRow(
                    name: try row.get("name"), file: try row.get("file"), hosts: try row.get("hosts"), profiles: try row.get("profiles"),
                    lastCommit: try row.get("last_commit"), updatedAt: try row.get("updated_at"))
            }
            var perProfile: [String: [DeliveryStatus: Int]] = [:]
            var total = Dictionary(uniqueKeysWithValues: DeliveryStatus.allCases.map { ($0, 0) })
            for row in try await connection.rows(
                "SELECT profile_uuid, status, COUNT(*)::INTEGER AS n FROM host_profile GROUP BY profile_uuid, status", postgresLog)
            {
                let status = try row.get("status", DeliveryStatus.self)
                let count = try row.get("n", Int.self)
                perProfile[try row.get("profile_uuid", String.self), default: [:]][status] = count
                total[status, default: 0] += count
            }
            let cas = try await Self.certificateAuthorities(connection, postgresLog)
            let profiles = try await connection.rows(
                "SELECT uuid, team, identifier, path, last_commit, updated_at FROM profile ORDER BY team, identifier", postgresLog
            ).map { row in
                let uuid = try row.get("uuid", String.self)
                var counts = Dictionary(uniqueKeysWithValues: DeliveryStatus.allCases.map { ($0, 0) })
                counts.merge(perProfile[uuid] ?? [:]) { $1 }
                return StateStatus.ProfileRow(
                    uuid: uuid, team: try row.get("team"), identifier: try row.get("identifier"), path: try row.get("path"),
                    certificateAuthorities: cas[uuid] ?? [], hostProfiles: counts, lastCommit: try row.get("last_commit"),
                    updatedAt: try row.get("updated_at"))
            }
            let last = try await connection.rows("SELECT * FROM apply ORDER BY id DESC LIMIT 1", postgresLog).first.map(Self.applyRecord)
            return StateStatus(
                revision: try await Self.revision(connection, postgresLog), certificateAuthorities: authorities, teams: teams,
                profiles: profiles, hostProfiles: total, lastApply: last)
        }
    }
}

extension PostgresStore: HealthCheck {
    public func checkHealth() async throws(StoreError) {
        try await read { connection in try await connection.run("SELECT 1", postgresLog) }
    }
}

extension PostgresStore: DriftReader {
    public func hostObservations() async throws(StoreError) -> HostObservations {
        try await read { connection in
            // A removal may outlive its profile row: the host's team names it then.
            let deliveries = """
                SELECT hp.host_uuid, COALESCE(p.team, h.team, '?') || '/' || hp.identifier AS profile, hp.detail, hp.retries
                FROM host_profile hp JOIN host h ON h.uuid = hp.host_uuid LEFT JOIN profile p ON p.uuid = hp.profile_uuid
                """
            func delivery(_ row: PostgresRandomAccessRow) throws -> HostObservations.Delivery {
                .init(host: try row.get("host_uuid"), profile: try row.get("profile"), detail: try row.get("detail"), retries: try row.get("retries"))
            }
            let failed = try await connection.rows(PostgresQuery(unsafeSQL: deliveries + " WHERE hp.status = 'failed'"), postgresLog).map(delivery)
            let missing = try await connection.rows(
                PostgresQuery(unsafeSQL: deliveries + " WHERE hp.operation = 'install' AND hp.status IN ('pending', 'sent') AND hp.retries > 0"),
                postgresLog
            ).map(delivery)
            let unexpected = try await connection.rows("SELECT host_uuid, identifier FROM host_unexpected_profile", postgresLog).map {
                HostObservations.UnexpectedProfile(host: try $0.get("host_uuid"), identifier: try $0.get("identifier"))
            }
            let certificates = try await connection.rows(
                """
                SELECT c.host_uuid, c.subject, c.fingerprint, c.not_after FROM host_certificate c
                JOIN host h ON h.uuid = c.host_uuid WHERE h.team IS NOT NULL
                """, postgresLog
            ).compactMap { row -> HostObservations.Certificate? in
                guard let notAfter = Self.date(try row.get("not_after", String.self)) else { return nil }
                return .init(host: try row.get("host_uuid"), subject: try row.get("subject"), fingerprint: try row.get("fingerprint"), notAfter: notAfter)
            }
            let hosts = try await connection.rows("SELECT uuid, team, last_seen_at, enrolled_at FROM host WHERE team IS NOT NULL", postgresLog)
                .map { row in
                    HostObservations.Host(
                        uuid: try row.get("uuid"), team: try row.get("team"), lastSeen: Self.date(try row.get("last_seen_at", String?.self)),
                        enrolledAt: Self.date(try row.get("enrolled_at", String.self)) ?? Date(timeIntervalSince1970: 0))
                }
            let renewals = try await connection.rows(PostgresQuery(unsafeSQL: RenewalSQL.failed), postgresLog).map { row in
                HostObservations.FailedRenewal(
                    host: try row.get("host_uuid"), profile: try row.get("profile"), attempts: try row.get("renewal_attempts"),
                    detail: try row.get("detail"), notAfter: Self.date(try row.get("not_after", String.self)) ?? .distantPast)
            }
            var serials: [String: String] = [:]
            for row in try await connection.rows(PostgresQuery(unsafeSQL: RenewalSQL.serials), postgresLog) {
                serials[try row.get("uuid", String.self)] = try row.get("serial", String.self)
            }
            return HostObservations(
                failed: failed, missing: missing, unexpected: unexpected, certificates: certificates, hosts: hosts,
                failedRenewals: renewals, serials: serials)
        }
    }
}
