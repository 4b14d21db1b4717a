import Foundation
import GRDB
import SCEPOpsCore

extension SQLiteStore: CertificateReader {
    public func certificates() async throws(StoreError) -> [HostCertificate] {
        try await read { db in
            HostCertificate.ordered(
                try Row.fetchAll(db, sql: HostCertificate.query).map { row in
                    let serial: String? = row["serial"]
                    let standing: String? = row["standing_serial"]
                    let state: String? = row["renewal_state"]
                    return HostCertificate(
                        hostUDID: row["host_uuid"], hostSerial: row["host_serial"], team: row["team"], profile: row["identifier"],
                        certificateAuthority: row["ca"], subject: row["subject"], serial: serial, notBefore: Self.date(row["not_before"]),
                        notAfter: Self.date(row["not_after"]) ?? .distantPast,
                        renewal: standing != nil && standing == serial
                            ? RenewalProgress(
                                state: state.flatMap(RenewalState.init(rawValue:)) ?? .none, attempts: row["renewal_attempts"],
                                lastAttemptAt: Self.date(row["last_attempt_at"]), retryAt: Self.date(row["retry_at"]),
                                replacingSerial: row["replacing_serial"], replacingNotAfter: Self.date(row["replacing_not_after"]))
                            : nil)
                })
        }
    }
}

extension SQLiteStore: DriftReader {
    public func hostObservations() async throws(StoreError) -> HostObservations {
        try await read { db in
            // A removal may outlive its profile row: the host's team names it then.
            let deliveries = """
                SELECT hp.host_uuid, COALESCE(p.team, h.team, '?') || '/' || hp.identifier AS profile, hp.detail, hp.retries
                FROM host_profile hp JOIN host h ON h.uuid = hp.host_uuid LEFT JOIN profile p ON p.uuid = hp.profile_uuid
                """
            func delivery(_ row: Row) -> HostObservations.Delivery {
                .init(host: row["host_uuid"], profile: row["profile"], detail: row["detail"], retries: row["retries"])
            }
            let failed = try Row.fetchAll(db, sql: deliveries + " WHERE hp.status = 'failed'").map(delivery)
            let missing = try Row.fetchAll(
                db, sql: deliveries + " WHERE hp.operation = 'install' AND hp.status IN ('pending', 'sent') AND hp.retries > 0"
            ).map(delivery)
            let unexpected = try Row.fetchAll(db, sql: "SELECT host_uuid, identifier FROM host_unexpected_profile").map {
                HostObservations.UnexpectedProfile(host: $0["host_uuid"], identifier: $0["identifier"])
            }
            let certificates = try Row.fetchAll(
                db,
                sql: """
                    SELECT c.host_uuid, c.subject, c.fingerprint, c.not_after FROM host_certificate c
                    JOIN host h ON h.uuid = c.host_uuid WHERE h.team IS NOT NULL
                    """
            ).compactMap { row -> HostObservations.Certificate? in
                guard let notAfter = Self.date(row["not_after"]) else { return nil }
                return .init(host: row["host_uuid"], subject: row["subject"], fingerprint: row["fingerprint"], notAfter: notAfter)
            }
            let hosts = try Row.fetchAll(db, sql: "SELECT uuid, team, last_seen_at, enrolled_at FROM host WHERE team IS NOT NULL")
                .map { row in
                    HostObservations.Host(
                        uuid: row["uuid"], team: row["team"], lastSeen: Self.date(row["last_seen_at"]),
                        enrolledAt: Self.date(row["enrolled_at"]) ?? Date(timeIntervalSince1970: 0))
                }
            let renewals = try Row.fetchAll(db, sql: RenewalSQL.failed).map { row in
                HostObservations.FailedRenewal(
                    host: row["host_uuid"], profile: row["profile"], attempts: row["renewal_attempts"], detail: row["detail"],
                    notAfter: Self.date(row["not_after"]) ?? .distantPast)
            }
            var serials: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: RenewalSQL.serials) { serials[row["uuid"]] = row["serial"] }
            return HostObservations(
                failed: failed, missing: missing, unexpected: unexpected, certificates: certificates, hosts: hosts,
                failedRenewals: renewals, serials: serials)
        }
    }
}
