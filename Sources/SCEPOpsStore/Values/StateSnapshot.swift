/// A whole state as rows, for copying it between backends: every table the two schemas
/// share, in an order that keeps foreign keys satisfied, with the columns both hold.
/// Booleans travel as 0 and 1; the lease is not copied (it belongs to an apply).
public struct StateSnapshot: Sendable {
    public enum Value: Sendable, Hashable {
        case null
        case integer(Int64)
        case text(String)
        case bytes([UInt8])
    }

    public struct Table: Sendable {
        public var name: String
        public var columns: [String]
        /// Stored as a boolean on PostgreSQL, an integer on SQLite.
        public var booleans: Set<String> = []
    }

    public static let tables: [Table] = [
        Table(name: "team", columns: ["name", "enroll_secret_digest", "file", "last_commit", "updated_at"]),
        Table(
            name: "certificate_authority",
            columns: [
                "name", "url", "challenge_sealed", "challenge_digest", "file", "ca_certificate", "ca_subject", "ca_fingerprint",
                "ca_not_after", "last_commit", "updated_at", "renewal_before", "renewal_max_per_hour",
            ]),
        Table(name: "profile", columns: ["uuid", "team", "identifier", "path", "content", "checksum", "last_commit", "updated_at"]),
        Table(name: "profile_certificate_authority", columns: ["profile_uuid", "ca_name"]),
        Table(
            name: "host",
            columns: [
                "uuid", "serial", "team", "enrolled_at", "last_seen_at", "push_token", "push_magic", "push_topic", "push_stale_at",
                "push_due_at", "profile_list_at", "reenroll_allowed_until",
            ]),
        Table(
            name: "host_profile",
            columns: [
                "host_uuid", "profile_uuid", "identifier", "operation", "status", "command_uuid", "detail", "retries",
                "upstream_failures", "acknowledged_at", "updated_at",
            ]),
        Table(
            name: "apply",
            columns: [
                "id", "commit_sha", "ref", "plan_hash", "actor", "version", "started_at", "finished_at", "result", "created",
                "updated", "deleted", "replaced", "detail",
            ]),
        Table(
            name: "command_outbox",
            columns: [
                "id", "host_uuid", "profile_uuid", "request_type", "apply_id", "status", "command_uuid", "created_at", "updated_at",
                "not_now", "not_before",
            ], booleans: ["not_now"]),
        Table(name: "proxy_token", columns: ["token", "host_uuid", "profile_uuid", "ca_name", "expires_at"]),
        Table(name: "device_identity", columns: ["fingerprint", "host_uuid", "bound_at", "checked_out_at"]),
        Table(name: "host_unexpected_profile", columns: ["host_uuid", "identifier", "seen_at"]),
        Table(
            name: "host_certificate",
            columns: ["host_uuid", "fingerprint", "subject", "not_after", "is_identity", "seen_at", "serial", "not_before", "profile_uuid"],
            booleans: ["is_identity"]),
        Table(
            name: "host_profile_certificate",
            columns: [
                "host_uuid", "profile_uuid", "serial", "subject", "fingerprint", "not_before", "not_after", "seen_at", "renewal_state",
                "renewal_attempts", "last_attempt_at", "retry_at", "replacing_serial", "replacing_not_after",
            ]),
        Table(
            name: "renewal_attempt",
            columns: [
                "id", "host_uuid", "profile_uuid", "ca_name", "old_serial", "old_not_after", "new_serial", "new_not_after", "started_at",
                "finished_at", "result", "detail",
            ]),
        Table(name: "api_token", columns: ["name", "role", "digest", "created_at", "expires_at", "revoked_at", "last_used_at"]),
    ]

    public var revision: Int
    /// By table name, in `tables`' column order.
    public var rows: [String: [[Value]]]

    public init(revision: Int, rows: [String: [[Value]]]) {
        self.revision = revision
        self.rows = rows
    }

    /// Rows per table, for checking a copy.
    public var counts: [String: Int] {
        Dictionary(uniqueKeysWithValues: Self.tables.map { ($0.name, rows[$0.name]?.count ?? 0) })
    }
}
