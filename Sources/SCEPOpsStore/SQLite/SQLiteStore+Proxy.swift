import Foundation
import GRDB
import SCEPOpsCore

extension SQLiteStore: ProxyStore {
    public static let defaultTokenLifetime: TimeInterval = 7 * 24 * 3600

    public func proxyUpstream(_ identifier: ProxyIdentifier) async throws(StoreError) -> Result<ProxyUpstream, ProxyRefusal> {
        if let answer = proxyUpstreamAtOnce(identifier) { return answer }
        let path = path
        return try await readStatement { db in
            // Compiled once per connection.
            guard
                let answer = try Self.firstRow(
                    db.cachedStatement(sql: Self.upstreamLookup), StatementArguments(Self.lookupArguments(identifier)), Self.upstream)
            else { throw StoreError(.database, "the state database \(path) holds a delivery no scepops wrote") }
            return answer
        }
    }

    /// Through the quick reader (a connection of its own, no busy timeout).
    public func proxyUpstreamAtOnce(_ identifier: ProxyIdentifier) -> Result<ProxyUpstream, ProxyRefusal>? {
        quick?.read(Self.upstreamLookup, Self.lookupArguments(identifier), Self.upstream)
    }

    static func lookupArguments(_ identifier: ProxyIdentifier) -> [String] {
        [identifier.certificateAuthority, identifier.host, identifier.profile]
    }

    /// Every proxied request asks this.
    static let upstreamLookup = """
        SELECT hp.operation, hp.status, hp.acknowledged_at IS NOT NULL, ca.url, ca.ca_fingerprint
        FROM host_profile hp
        JOIN profile_certificate_authority pc ON pc.profile_uuid = hp.profile_uuid AND pc.ca_name = ?
        JOIN certificate_authority ca ON ca.name = pc.ca_name
        WHERE hp.host_uuid = ? AND hp.profile_uuid = ?
        """

    /// Nil when the row holds what no scepops wrote.
    static func upstream(_ row: (some StatementRow)?) -> Result<ProxyUpstream, ProxyRefusal>? {
        guard let row else { return .failure(.unknownIdentifier) }
        guard let operation = row.text(0).flatMap(DeliveryOperation.init), let status = row.text(1).flatMap(DeliveryStatus.init),
            let url = row.text(3)
        else { return nil }
        let state = DeliveryState(operation: operation, status: status, acknowledged: row.integer(2) == 1)
        return ProxyRefusal.admit(state).map { ProxyUpstream(url: url, certificateFingerprint: row.text(4)) }
    }

    public func consumeToken(_ identifier: ProxyIdentifier, now: Date) async throws(StoreError) -> Result<Void, ProxyRefusal> {
        try await write { db in
            // Only the delivery's own token is deleted: a guessed or forged one matches no
            // row and so changes nothing at all.
            let expires = try String.fetchOne(
                db,
                sql: """
                    DELETE FROM proxy_token WHERE token = ? AND host_uuid = ? AND profile_uuid = ? AND ca_name = ?
                    RETURNING expires_at
                    """,
                arguments: [identifier.token, identifier.host, identifier.profile, identifier.certificateAuthority])
            // A row with an unreadable expiry counts as expired.
            return ProxyRefusal.consumed(expiresAt: expires.map { Self.date($0) ?? .distantPast }, now: now)
        }
    }

    public func tokenSpent(_ identifier: ProxyIdentifier, reason: String, policy: RedeliveryPolicy, now: Date)
        async throws(StoreError) -> RedeliveryPolicy.Decision?
    {
        try await write { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT operation, status, acknowledged_at, command_uuid, upstream_failures FROM host_profile
                        WHERE host_uuid = ? AND profile_uuid = ?
                        """, arguments: [identifier.host, identifier.profile]),
                Self.deliveryState(row).isInFlight
            else { return nil }
            let failures = (row["upstream_failures"] as Int) + 1
            let decision = policy.decide(failures: failures, reason: reason, now: now)
            try Self.recordRedelivery(
                db, host: identifier.host, profile: identifier.profile, command: row["command_uuid"], failures: failures,
                decision, stamp: Self.timestamp(now))
            return decision
        }
    }

    /// A delivery whose certificate did not arrive, as `decision` has it: it goes out again
    /// with a fresh token, or fails. No token of the old command stays usable.
    static func recordRedelivery(
        _ db: Database, host: String, profile: String, command: String?, failures: Int, _ decision: RedeliveryPolicy.Decision,
        stamp: String
    ) throws {
        // The command the device holds carries the old token: it is closed, so it is never
        // offered again, and its late answer no longer speaks for the delivery.
        if let command {
            try db.execute(
                sql: "UPDATE command_outbox SET status = ?, updated_at = ? WHERE host_uuid = ? AND command_uuid = ?",
                arguments: [OutboxStatus.error, stamp, host, command])
        }
        try db.execute(sql: "DELETE FROM proxy_token WHERE host_uuid = ? AND profile_uuid = ?", arguments: [host, profile])
        try db.execute(
            sql: """
                UPDATE host_profile SET status = ?, command_uuid = NULL, upstream_failures = ?, detail = ?, updated_at = ?
                WHERE host_uuid = ? AND profile_uuid = ?
                """, arguments: [decision.status, failures, decision.detail, stamp, host, profile])
        if case .redeliver(let notBefore, _) = decision {
            try queue(db, host: host, profile: profile, .installProfile, now: stamp, notBefore: timestamp(notBefore))
        }
    }

    /// One server serves a state file: its own gate (`UpstreamGate`) is the whole limit.
    public func withUpstreamSlot<T: Sendable>(url: String, limit: Int, _ body: @escaping @Sendable () async throws -> T)
        async throws -> T
    {
        try await body()
    }

    /// The columns `operation`, `status` and `acknowledged_at` of a host_profile row.
    static func deliveryState(_ row: Row) -> DeliveryState {
        DeliveryState(
            operation: row["operation"], status: row["status"], acknowledged: (row["acknowledged_at"] as String?) != nil)
    }
}
