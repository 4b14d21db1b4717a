import Foundation
import PostgresNIO
import SCEPOpsCore

extension PostgresStore: ProxyStore {
    public func proxyUpstream(_ identifier: ProxyIdentifier) async throws(StoreError) -> Result<ProxyUpstream, ProxyRefusal> {
        try await read { connection in
            let row = try await connection.rows(
                """
                SELECT hp.operation, hp.status, hp.acknowledged_at, ca.url, ca.ca_fingerprint
                FROM host_profile hp
                JOIN profile_certificate_authority pc ON pc.profile_uuid = hp.profile_uuid AND pc.ca_name = \(identifier.certificateAuthority)
                JOIN certificate_authority ca ON ca.name = pc.ca_name
                WHERE hp.host_uuid = \(identifier.host) AND hp.profile_uuid = \(identifier.profile)
                """, postgresLog
            ).first
            guard let row else { return .failure(.unknownIdentifier) }
            let upstream = ProxyUpstream(
                url: try row.get("url", String.self), certificateFingerprint: try row.get("ca_fingerprint", String?.self))
            return ProxyRefusal.admit(try Self.deliveryState(row)).map { upstream }
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
            let failures = try row.get("upstream_failures", Int.self) + 1
            let decision = policy.decide(failures: failures, reason: reason, now: now)
            try await Self.recordRedelivery(
                connection, host: identifier.host, profile: identifier.profile, command: try row.get("command_uuid", String?.self),
                failures: failures, decision, stamp: Self.timestamp(now))
            return decision
        }
    }

    /// A delivery whose certificate did not arrive, as `decision` has it: it goes out again
    /// with a fresh token, or fails. No token of the old command stays usable.
    static func recordRedelivery(
        _ connection: PostgresConnection, host: String, profile: String, command: String?, failures: Int,
        _ decision: RedeliveryPolicy.Decision, stamp: String
    ) async throws {
        // The command the device holds carries the old token: it is closed, so it is never
        // offered again, and its late answer no longer speaks for the delivery.
        if let command {
            try await connection.run(
                """
                UPDATE command_outbox SET status = \(OutboxStatus.error), updated_at = \(stamp)
                WHERE host_uuid = \(host) AND command_uuid = \(command)
                """, postgresLog)
        }
        try await connection.run("DELETE FROM proxy_token WHERE host_uuid = \(host) AND profile_uuid = \(profile)", postgresLog)
        try await connection.run(
            """
            UPDATE host_profile SET status = \(decision.status), command_uuid = NULL, upstream_failures = \(failures),
                detail = \(decision.detail), updated_at = \(stamp)
            WHERE host_uuid = \(host) AND profile_uuid = \(profile)
            """, postgresLog)
        if case .redeliver(let notBefore, _) = decision {
            try await queue(
                connection, postgresLog, host: host, profile: profile, .installProfile, now: stamp, notBefore: timestamp(notBefore))
        }
    }

    /// The slots are session advisory locks, `limit` keys per CA URL: a server takes a free
    /// one on a pooled connection and holds it for the PKIOperation; one that dies lets go
    /// with its session. Waiting holds no connection.
    public func withUpstreamSlot<T: Sendable>(url: String, limit: Int, _ body: @escaping @Sendable () async throws -> T)
        async throws -> T
    {
        let base = Self.slotBase(url)
        let deadline = ContinuousClock.now + Self.slotWait
        while true {
            let attempt: T?
            do {
                attempt = try await withConnection { connection -> T? in
                for slot in 0..<Int64(max(1, limit)) {
                    let key = base &+ slot
                    let taken = try await connection.rows("SELECT pg_try_advisory_lock(\(key)) AS taken", postgresLog).first?
                        .get("taken", Bool.self) == true
                    guard taken else { continue }
                    do {
                        let value = try await body()
                        try await connection.run("SELECT pg_advisory_unlock(\(key))", postgresLog)
                        return value
                    } catch {
                        _ = try? await connection.run("SELECT pg_advisory_unlock(\(key))", postgresLog)
                        throw Upstream(error: error)
                    }
                }
                return nil
                }
            } catch let upstream as Upstream {
                throw upstream.error
            } catch {
                throw databaseError(error)
            }
            if let attempt { return attempt }
            guard ContinuousClock.now < deadline else {
                throw StoreError(.busy, "every slot for the certificate authority is taken by the servers on this state")
            }
            try await Task.sleep(for: .milliseconds(25))
        }
    }

    /// How long a PKIOperation waits for a slot before the device is told to retry (503).
    static let slotWait: Duration = .seconds(20)

    /// The body's own error, carried through the store's error mapping unchanged.
    struct Upstream: Error {
        var error: any Error
    }

    /// A stable key per CA URL, the same on every server ("SCPU" in the top bits).
    static func slotBase(_ url: String) -> Int64 {
        let digest = SecretBox.sha256(Array(url.utf8))
        let low = Int64(digest.prefix(8), radix: 16) ?? 0
        return (0x5343_5055 << 32) | (low & 0x7FFF_FF00)
    }

    /// The columns `operation`, `status` and `acknowledged_at` of a host_profile row.
    static func deliveryState(_ row: PostgresRandomAccessRow) throws -> DeliveryState {
        DeliveryState(
            operation: try row.get("operation"), status: try row.get("status"),
            acknowledged: try row.get("acknowledged_at", String?.self) != nil)
    }
}
