import Foundation
import SCEPOpsCore

/// The SQL of `host_profile_certificate`, the certificate each host stands on for each
/// profile (plain SQL both dialects take, with `?` placeholders that PostgreSQL's side
/// numbers).
enum HostProfileCertificate {
    static let standingColumns = """
        SELECT profile_uuid, serial, subject, fingerprint, not_before, not_after FROM host_profile_certificate
        """

    /// A newer standing certificate keeps the renewal record: renewal reads the change.
    static let upsert = """
        INSERT INTO host_profile_certificate (host_uuid, profile_uuid, serial, subject, fingerprint, not_before, not_after, seen_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (host_uuid, profile_uuid) DO UPDATE SET serial = excluded.serial, subject = excluded.subject,
            fingerprint = excluded.fingerprint, not_before = excluded.not_before, not_after = excluded.not_after,
            seen_at = excluded.seen_at
        """

    /// `sql` with PostgreSQL's `$1`, `$2`, … for its `?`s (none of these statements has a `?`
    /// inside a literal).
    static func numbered(_ sql: String) -> String {
        var count = 0
        return sql.split(separator: "?", omittingEmptySubsequences: false).enumerated().map { index, part in
            guard index > 0 else { return String(part) }
            count += 1
            return "$\(count)" + part
        }.joined()
    }

    static func values(_ host: String, _ profile: String, _ standing: HeldCertificate, _ now: String) -> [String] {
        [
            host, profile, standing.serial, standing.subject, standing.fingerprint, standing.notBefore.ISO8601Format(),
            standing.notAfter.ISO8601Format(), now,
        ]
    }
}
