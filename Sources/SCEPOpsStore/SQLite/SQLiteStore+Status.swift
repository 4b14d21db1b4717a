import Foundation
import GRDB
import SCEPOpsCore

extension SQLiteStore: ApplyHistoryReader, StatusReader {
    public func applies() async throws(StoreError) -> [ApplyRecord] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM apply ORDER BY id").map(Self.applyRecord) }
    }

    public func status() async throws(StoreError) -> StateStatus {
        try await read { db in
            let authorities = try Row.fetchAll(
                db, sql: """
                    SELECT name, url, file, ca_subject, ca_fingerprint, ca_not_after, last_commit, updated_at, renewal_before,
                        renewal_max_per_hour
                    FROM certificate_authority ORDER BY name
                    """
            ).map { row in
                let subject: String? = row["ca_subject"]
                return StateStatus.CertificateAuthorityRow(
                    name: row["name"], url: row["url"], file: row["file"],
                    certificate: subject.map {
                        CACertificateSummary(subject: $0, fingerprint: row["ca_fingerprint"], notAfter: row["ca_not_after"])
                    }, lastCommit: row["last_commit"], updatedAt: row["updated_at"],
                    renewal: RenewalSettings(before: (row["renewal_before"] as Int?).map(Double.init), maximumPerHour: row["renewal_max_per_hour"]))
            }
            let teams = try Row.fetchAll(
                db,
                sql: """
                    SELECT t.name, t.file, t.last_commit, t.updated_at,
                        (SELECT COUNT(*) FROM host h WHERE h.team = t.name) AS hosts,
                        (SELECT COUNT(*) FROM profile p WHERE p.team = t.name) AS profiles
                    FROM team t ORDER BY t.name
                    """
            ).map { row in
                StateStatus.TeamRow(
                    name: row["name"], file: row["file"], hosts: row["hosts"], profiles: row["profiles"],
                    lastCommit: row["last_commit"], updatedAt: row["updated_at"])
            }
            var perProfile: [String: [DeliveryStatus: Int]] = [:]
            var total = Dictionary(uniqueKeysWithValues: DeliveryStatus.allCases.map { ($0, 0) })
            for row in try Row.fetchAll(
                db, sql: "SELECT profile_uuid, status, COUNT(*) AS n FROM host_profile GROUP BY profile_uuid, status")
            {
                let status: DeliveryStatus = row["status"]
                let count: Int = row["n"]
                perProfile[row["profile_uuid"], default: [:]][status] = count
                total[status, default: 0] += count
            }
            var cas: [String: [String]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT profile_uuid, ca_name FROM profile_certificate_authority ORDER BY ca_name") {
                cas[row["profile_uuid"], default: []].append(row["ca_name"])
            }
            let profiles = try Row.fetchAll(
                db, sql: "SELECT uuid, team, identifier, path, last_commit, updated_at FROM profile ORDER BY team, identifier"
            ).map { row in
                let uuid: String = row["uuid"]
                var counts = Dictionary(uniqueKeysWithValues: DeliveryStatus.allCases.map { ($0, 0) })
                counts.merge(perProfile[uuid] ?? [:]) { $1 }
                return StateStatus.ProfileRow(
                    uuid: uuid, team: row["team"], identifier: row["identifier"], path: row["path"],
                    certificateAuthorities: cas[uuid] ?? [], hostProfiles: counts, lastCommit: row["last_commit"],
                    updatedAt: row["updated_at"])
            }
            let last = try Row.fetchOne(db, sql: "SELECT * FROM apply ORDER BY id DESC LIMIT 1").map(Self.applyRecord)
            return StateStatus(
                revision: try Self.revision(db), certificateAuthorities: authorities, teams: teams, profiles: profiles,
                hostProfiles: total, lastApply: last)
        }
    }

    static func applyRecord(_ row: Row) -> ApplyRecord {
        ApplyRecord(
            id: row["id"], commit: row["commit_sha"], ref: row["ref"], planHash: row["plan_hash"], actor: row["actor"],
            version: row["version"], startedAt: row["started_at"], finishedAt: row["finished_at"], result: row["result"],
            counts: [.create: row["created"], .update: row["updated"], .delete: row["deleted"], .replace: row["replaced"]],
            detail: row["detail"])
    }
}
