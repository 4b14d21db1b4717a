import Foundation
import PostgresNIO
import SCEPOpsCore

extension PostgresStore: ProxyStore {
    public func proxyUpstream(_ identifier: ProxyIdentifier) async throws(StoreError) -> Result<String, ProxyRefusal> {
        try await read { connection in
            let row = try await connection.rows(
                """
                SELECT hp.operation, hp.status, hp.acknowledged_at, ca.url
                FROM host_profile hp
                JOIN profile_certificate_authority pc ON pc.profile_uuid = hp.profile_uuid AND pc.ca_name = \(identifier.certificateAuthority)
                JOIN certificate_authority ca ON ca.name = pc.ca_name
                WHERE hp.host_uuid = \(identifier.host) AND hp.profile_uuid = \(identifier.profile)
                """, postgresLog
            ).first
            guard let row else { return .failure(.unknownIdentifier) }
            let url = try row.get("url", String.self)
            return ProxyRefusal.admit(try Self.deliveryState(row)).map { url }
        }
    }

    public func consumeToken(_ identifier: ProxyIdentifier, now: Date) async throws(StoreError) -> Result<Void, ProxyRefusal> {
        try await write { connection in
            // One DELETE: of replicas racing for the same token, exactly one gets its row.
            let expires = try await connection.rows(
                """
                DELETE FROM proxy_token WHERE token = \(identifier.token) AND host_uuid = \(identifier.host)
                    AND profile_uuid = \(identifier.profile) AND ca_name = \(identifier.certificateAuthority)
                RETURNING expires_at
                """, postgresLog
            ).first.map { try $0.get("expires_at", String.self) }
            return ProxyRefusal.consumed(expiresAt: expires.map { Self.date($0) ?? .distantPast }, now: now)
        }
    }

    public func tokenSpent(_ identifier: ProxyIdentifier, reason: String, policy: RedeliveryPolicy, now: Date)
        async throws(StoreError) -> RedeliveryPolicy.Decision?
    {
        try await write { connection in
            guard
                let row = try await connection.rows(
                    """
                    SELECT operation, status, acknowledged_at, command_uuid, upstream_failures FROM host_profile
                    WHERE host_uuid = \(identifier.host) AND profile_uuid = \(identifier.profile) FOR UPDATE
                    """, postgresLog
                ).first,
                try Self.deliveryState(row).isInFlight
            else { return nil }
            let stamp = Self.timestamp(now)
            let failures = try row.get("upstream_failures", Int.self) + 1
            let decision = policy.decide(failures: failures, reason: reason, now: now)
            if let command = try row.get("command_uuid", String?.self) {
                try await connection.run(
                    """
                    UPDATE command_outbox SET status = \(OutboxStatus.error), updated_at = \(stamp)
                    WHERE host_uuid = \(identifier.host) AND command_uuid = \(command)
                    """, postgresLog)
            }
            let detail: String =
                switch decision {
                case .redeliver: reason
                case .fail(let detail): detail
                }
            try await connection.run(
                """
                UPDATE host_profile SET status = \(decision.status), command_uuid = NULL, upstream_failures = \(failures),
                    detail = \(detail), updated_at = \(stamp)
                WHERE host_uuid = \(identifier.host) AND profile_uuid = \(identifier.profile)
                """, postgresLog)
            if case .redeliver(let notBefore) = decision {
                try await Self.queue(
                    connection, postgresLog, host: identifier.host, profile: identifier.profile, .installProfile, now: stamp,
                    notBefore: Self.timestamp(notBefore))
            }
            return decision
        }
    }

    /// The columns `operation`, `status` and `acknowledged_at` of a host_profile row.
    static func deliveryState(_ row: PostgresRandomAccessRow) throws -> DeliveryState {
        DeliveryState(
            operation: try row.get("operation"), status: try row.get("status"),
            acknowledged: try row.get("acknowledged_at", String?.self) != nil)
    }
}
