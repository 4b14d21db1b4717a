import Foundation
import SCEPOpsCore

/// The statements of a renewal pass, in plain SQL both dialects take (`?` placeholders,
/// which PostgreSQL's side numbers).
enum RenewalSQL {
    enum Value: Sendable {
        case text(String?)
        case integer(Int)
    }

    /// The standing certificate of each host for each of its team's certificate profiles,
    /// with its renewal record and the profile's delivery.
    static let records = """
        SELECT s.host_uuid, s.profile_uuid, s.serial, s.subject, s.fingerprint, s.not_before, s.not_after, s.renewal_state,
            s.renewal_attempts, s.last_attempt_at, s.retry_at, s.replacing_serial, s.replacing_not_after,
            hp.status AS delivery, hp.detail AS delivery_detail, p.identifier,
            (SELECT MIN(pc.ca_name) FROM profile_certificate_authority pc WHERE pc.profile_uuid = s.profile_uuid) AS ca
        FROM host_profile_certificate s
        JOIN host h ON h.uuid = s.host_uuid
        JOIN profile p ON p.uuid = s.profile_uuid AND p.team = h.team
        JOIN host_profile hp ON hp.host_uuid = s.host_uuid AND hp.profile_uuid = s.profile_uuid AND hp.operation = 'install'
        """
    /// Renewals that failed for good, with the last attempt's reason: drift reports them.
    static let failed = """
        SELECT s.host_uuid, p.team || '/' || p.identifier AS profile, s.renewal_attempts, s.not_after,
            (SELECT a.detail FROM renewal_attempt a WHERE a.host_uuid = s.host_uuid AND a.profile_uuid = s.profile_uuid
                ORDER BY a.id DESC LIMIT 1) AS detail
        FROM host_profile_certificate s JOIN host h ON h.uuid = s.host_uuid JOIN profile p ON p.uuid = s.profile_uuid
        WHERE s.renewal_state = 'failed' AND h.team IS NOT NULL
        """
    static let serials = "SELECT uuid, serial FROM host WHERE team IS NOT NULL AND serial IS NOT NULL"
    /// Right after a host acknowledges the install of a profile that takes a certificate,
    /// it is asked for its CertificateList (unless one is on its way already): renewal and
    /// `scepops certificates` see the new certificate without waiting a verify interval.
    /// Arguments: host, now, profile, host.
    static let certificateListAfterInstall = """
        INSERT INTO command_outbox (host_uuid, profile_uuid, request_type, created_at)
        SELECT ?, '#certificates', 'CertificateList', ?
        WHERE EXISTS (SELECT 1 FROM profile_certificate_authority WHERE profile_uuid = ?)
            AND NOT EXISTS (SELECT 1 FROM command_outbox WHERE host_uuid = ? AND request_type = 'CertificateList'
                AND status IN ('queued', 'sent'))
        """
    static let settings = "SELECT name, renewal_before, renewal_max_per_hour FROM certificate_authority"
    static let starts = "SELECT ca_name, started_at FROM renewal_attempt WHERE started_at > ?"

    /// What one update writes, besides the re-delivery a start makes.
    static func statements(_ update: RenewalPass.Update, now: String) -> [(sql: String, values: [Value])] {
        let record = update.record
        let progress = update.progress
        var statements: [(sql: String, values: [Value])] = []
        if let finished = update.finished {
            let renewed = finished == .renewed
            let detail =
                renewed ? nil : record.delivery == .failed ? record.deliveryDetail ?? "the delivery failed"
                : "the host holds no newer certificate since the profile was installed again"
            statements.append((
                """
                UPDATE renewal_attempt SET result = ?, finished_at = ?, new_serial = ?, new_not_after = ?, detail = ?
                WHERE id = (SELECT MAX(id) FROM renewal_attempt WHERE host_uuid = ? AND profile_uuid = ? AND result = 'in_progress')
                """,
                [
                    .text(finished.rawValue), .text(now), .text(renewed ? record.standing.serial : nil),
                    .text(renewed ? record.standing.notAfter.ISO8601Format() : nil), .text(detail), .text(record.host), .text(record.profile),
                ]
            ))
        }
        if update.starts {
            statements.append((
                """
                INSERT INTO renewal_attempt (host_uuid, profile_uuid, ca_name, old_serial, old_not_after, started_at, result)
                VALUES (?, ?, ?, ?, ?, ?, 'in_progress')
                """,
                [
                    .text(record.host), .text(record.profile), .text(record.certificateAuthority), .text(record.standing.serial),
                    .text(record.standing.notAfter.ISO8601Format()), .text(now),
                ]
            ))
        }
        statements.append((
            """
            UPDATE host_profile_certificate SET renewal_state = ?, renewal_attempts = ?, last_attempt_at = ?, retry_at = ?,
                replacing_serial = ?, replacing_not_after = ?
            WHERE host_uuid = ? AND profile_uuid = ?
            """,
            [
                .text(progress.state.rawValue), .integer(progress.attempts), .text(progress.lastAttemptAt?.ISO8601Format()),
                .text(progress.retryAt?.ISO8601Format()), .text(progress.replacingSerial),
                .text(progress.replacingNotAfter?.ISO8601Format()), .text(record.host), .text(record.profile),
            ]
        ))
        return statements
    }

    /// The counts of a pass's updates.
    static func result(_ updates: [RenewalPass.Update]) -> RenewalPassResult {
        var result = RenewalPassResult()
        for update in updates {
            if update.starts || update.finished != nil { result.events.append(update) }
            if update.starts { result.started += 1 }
            switch update.finished {
            case .renewed: result.renewed += 1
            case .failed: if update.progress.state == .failed { result.failed += 1 } else { result.retrying += 1 }
            default: break
            }
        }
        return result
    }
}
