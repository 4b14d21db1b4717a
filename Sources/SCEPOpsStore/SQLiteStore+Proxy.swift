import Foundation
import GRDB
import SCEPOpsCore

/// Why the proxy refuses a request, before anything goes upstream.
public enum ProxyRefusal: Error, Sendable, Hashable {
    /// No such host, profile or CA for that host and profile.
    case unknownIdentifier
    /// The delivery exists but is not rendered-and-unacknowledged.
    case notInFlight
    /// The one-time token is unknown, used, expired, or for another delivery.
    case tokenRejected
}

/// What the SCEP proxy asks of the state.
public protocol ProxyStore: Sendable {
    /// The CA's URL, looked up on every request so that a URL change applies at once,
    /// when the host's delivery of the profile is in flight and the profile uses the CA.
    func proxyUpstream(_ identifier: ProxyIdentifier) throws(StoreError) -> Result<String, ProxyRefusal>
    /// Consumes the token atomically. A rejected token resets the delivery to pending, so
    /// the worker re-delivers it with a fresh one.
    func consumeToken(_ identifier: ProxyIdentifier, now: Date) throws(StoreError) -> Result<Void, ProxyRefusal>
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
                // Deleted whatever happens: a token is good for one PKIOperation at most.
                let row = try Row.fetchOne(
                    db, sql: "DELETE FROM proxy_token WHERE token = ? RETURNING host_uuid, profile_uuid, ca_name, expires_at",
                    arguments: [identifier.token])
                let valid =
                    row.map {
                        ($0["host_uuid"] as String) == identifier.host && ($0["profile_uuid"] as String) == identifier.profile
                            && ($0["ca_name"] as String) == identifier.certificateAuthority
                            && (try? Date(($0["expires_at"] as String), strategy: .iso8601)).map { $0 > now } == true
                    } ?? false
                if valid { return .success(()) }
                try db.execute(
                    sql: """
                        UPDATE host_profile SET status = 'pending', command_uuid = NULL, detail = NULL, retries = 0,
                            updated_at = ?
                        WHERE host_uuid = ? AND profile_uuid = ? AND operation = 'install' AND status = 'sent'
                        """, arguments: [Self.timestamp(now), identifier.host, identifier.profile])
                return .failure(.tokenRejected)
            }
        } catch {
            throw Self.databaseError(error, path: path)
        }
    }
}
