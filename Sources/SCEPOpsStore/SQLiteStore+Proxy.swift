import Foundation
import GRDB
import SCEPOpsCore

/// Why the proxy refuses a request, before anything goes upstream.
public enum ProxyRefusal: Error, Sendable, Hashable {
    /// No such host, profile or CA for that host and profile.
    case unknownIdentifier
    /// The delivery exists but is not rendered-and-unacknowledged.
    case notInFlight
    /// The one-time token is unknown, used, or for another delivery.
    case tokenRejected
    /// The delivery's own token, past its lifetime: the device can no longer enroll with
    /// the profile it holds.
    case tokenExpired

    /// For logs and metrics.
    public var reason: String {
        switch self {
        case .unknownIdentifier: "unknown_identifier"
        case .notInFlight: "not_in_flight"
        case .tokenRejected: "token_rejected"
        case .tokenExpired: "token_expired"
        }
    }
}

/// What the SCEP proxy asks of the state.
public protocol ProxyStore: Sendable {
    /// The CA's URL, looked up on every request so that a URL change applies at once,
    /// when the host's delivery of the profile is in flight and the profile uses the CA.
    func proxyUpstream(_ identifier: ProxyIdentifier) throws(StoreError) -> Result<String, ProxyRefusal>
    /// Consumes the token atomically. A token that is not this delivery's own changes
    /// nothing: a forged or replayed request cannot touch a delivery.
    func consumeToken(_ identifier: ProxyIdentifier, now: Date) throws(StoreError) -> Result<Void, ProxyRefusal>
    /// The delivery's token was spent without a certificate coming back: records what the
    /// policy decided, a re-delivery (with its command queued, so that a pending delivery
    /// always has one) or a failure. Nil when the delivery is no longer in flight.
    func tokenSpent(_ identifier: ProxyIdentifier, reason: String, policy: RedeliveryPolicy, now: Date) throws(StoreError)
        -> RedeliveryPolicy.Decision?
}

extension SQLiteStore: ProxyStore {
    public static let defaultTokenLifetime: TimeInterval = 7 * 24 * 3600

    public func proxyUpstream(_ identifier: ProxyIdentifier) throws(StoreError) -> Result<String, ProxyRefusal> {
        try read { db in
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT hp.operation, hp.status, hp.acknowledged_at, ca.url
                    FROM host_profile hp
                    JOIN profile_certificate_authority pc ON pc.profile_uuid = hp.profile_uuid AND pc.ca_name = ?
                    JOIN certificate_authority ca ON ca.name = pc.ca_name
                    WHERE hp.host_uuid = ? AND hp.profile_uuid = ?
                    """, arguments: [identifier.certificateAuthority, identifier.host, identifier.profile])
            guard let row else { return .failure(.unknownIdentifier) }
            let inFlight =
                (row["operation"] as String) == "install" && (row["status"] as String) == "sent"
                && (row["acknowledged_at"] as String?) == nil
            return inFlight ? .success(row["url"]) : .failure(.notInFlight)
        }
    }

    public func consumeToken(_ identifier: ProxyIdentifier, now: Date) throws(StoreError) -> Result<Void, ProxyRefusal> {
        do {
            return try pool.write { db in
                // Only the delivery's own token is deleted: a guessed or forged one matches no
                // row and so changes nothing at all.
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        DELETE FROM proxy_token WHERE token = ? AND host_uuid = ? AND profile_uuid = ? AND ca_name = ?
                        RETURNING expires_at
                        """,
                    arguments: [identifier.token, identifier.host, identifier.profile, identifier.certificateAuthority])
                guard let row else { return .failure(.tokenRejected) }
                let live = (try? Date((row["expires_at"] as String), strategy: .iso8601)).map { $0 > now } == true
                return live ? .success(()) : .failure(.tokenExpired)
            }
        } catch {
            throw Self.databaseError(error, path: path)
        }
    }

    public func tokenSpent(_ identifier: ProxyIdentifier, reason: String, policy: RedeliveryPolicy, now: Date)
        throws(StoreError) -> RedeliveryPolicy.Decision?
    {
        do {
            return try pool.write { db in
                guard
                    let row = try Row.fetchOne(
                        db,
                        sql: """
                            SELECT command_uuid, upstream_failures FROM host_profile
                            WHERE host_uuid = ? AND profile_uuid = ? AND operation = 'install' AND status = 'sent'
                                AND acknowledged_at IS NULL
                            """, arguments: [identifier.host, identifier.profile])
                else { return nil }
                let stamp = Self.timestamp(now)
                let failures = (row["upstream_failures"] as Int) + 1
                let decision = policy.decide(failures: failures, reason: reason, now: now)
                // The command the device holds carries the spent token: it is closed, so it is
                // never offered again, and its late answer no longer speaks for the delivery.
                if let command = row["command_uuid"] as String? {
                    try db.execute(
                        sql: "UPDATE command_outbox SET status = 'error', updated_at = ? WHERE host_uuid = ? AND command_uuid = ?",
                        arguments: [stamp, identifier.host, command])
                }
                let (status, detail): (String, String) =
                    switch decision {
                    case .redeliver: ("pending", reason)
                    case .fail(let detail): ("failed", detail)
                    }
                try db.execute(
                    sql: """
                        UPDATE host_profile SET status = ?, command_uuid = NULL, upstream_failures = ?, detail = ?, updated_at = ?
                        WHERE host_uuid = ? AND profile_uuid = ?
                        """, arguments: [status, failures, detail, stamp, identifier.host, identifier.profile])
                if case .redeliver(let notBefore) = decision {
                    try db.execute(
                        sql: """
                            INSERT INTO command_outbox (host_uuid, profile_uuid, request_type, created_at, not_before)
                            VALUES (?, ?, 'InstallProfile', ?, ?)
                            """, arguments: [identifier.host, identifier.profile, stamp, Self.timestamp(notBefore)])
                }
                return decision
            }
        } catch {
            throw Self.databaseError(error, path: path)
        }
    }
}
