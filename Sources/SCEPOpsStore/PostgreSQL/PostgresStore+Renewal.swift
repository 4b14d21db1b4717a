import Foundation
import PostgresNIO
import SCEPOpsCore

extension PostgresStore: RenewalStore {
    /// Every replica runs passes; a transaction lock makes them take turns, so each CA's
    /// hourly limit counts the starts of all of them.
    public func renew(now: Date, policy: RenewalPolicy) async throws(StoreError) -> RenewalPassResult {
        try await write { connection in
            try await connection.run("SELECT pg_advisory_xact_lock(\(Self.renewalLock))", postgresLog)
            let stamp = Self.timestamp(now)
            var settings: [String: RenewalSettings] = [:]
            for row in try await connection.rows(PostgresQuery(unsafeSQL: RenewalSQL.settings), postgresLog) {
                settings[try row.get("name", String.self)] = RenewalSettings(
                    before: try row.get("renewal_before", Int?.self).map(Double.init), maximumPerHour: try row.get("renewal_max_per_hour", Int?.self))
            }
            var starts: [String: [Date]] = [:]
            for row in try await connection.rows(
                PostgresQuery(
                    unsafeSQL: HostProfileCertificate.numbered(RenewalSQL.starts), binds: Self.binds(Self.timestamp(now.addingTimeInterval(-3600)))),
                postgresLog)
            {
                if let started = Self.date(try row.get("started_at", String.self)) { starts[try row.get("ca_name", String.self), default: []].append(started) }
            }
            var identifiers: [String: String] = [:]
            var records: [RenewalPass.Record] = []
            for row in try await connection.rows(PostgresQuery(unsafeSQL: RenewalSQL.records), postgresLog) {
                guard let ca = try row.get("ca", String?.self), let notBefore = Self.date(try row.get("not_before", String.self)),
                    let notAfter = Self.date(try row.get("not_after", String.self))
                else { continue }
                let profile = try row.get("profile_uuid", String.self)
                identifiers[profile] = try row.get("identifier", String.self)
                records.append(
                    RenewalPass.Record(
                        host: try row.get("host_uuid"), profile: profile, certificateAuthority: ca,
                        standing: HeldCertificate(
                            subject: try row.get("subject"), serial: try row.get("serial"), notBefore: notBefore, notAfter: notAfter,
                            fingerprint: try row.get("fingerprint")),
                        progress: RenewalProgress(
                            state: RenewalState(rawValue: try row.get("renewal_state", String.self)) ?? .none,
                            attempts: try row.get("renewal_attempts", Int.self),
                            lastAttemptAt: Self.date(try row.get("last_attempt_at", String?.self)),
                            retryAt: Self.date(try row.get("retry_at", String?.self)), replacingSerial: try row.get("replacing_serial"),
                            replacingNotAfter: Self.date(try row.get("replacing_not_after", String?.self))),
                        delivery: try row.get("delivery", DeliveryStatus?.self), deliveryDetail: try row.get("delivery_detail")))
            }
            let updates = RenewalPass.run(records, settings: settings, starts: starts, policy: policy, now: now)
            for update in updates {
                for statement in RenewalSQL.statements(update, now: stamp) {
                    var binds = PostgresBindings()
                    for value in statement.values {
                        switch value {
                        case .text(let text): binds.append(text)
                        case .integer(let number): binds.append(number)
                        }
                    }
                    try await connection.run(
                        PostgresQuery(unsafeSQL: HostProfileCertificate.numbered(statement.sql), binds: binds), postgresLog)
                }
                if update.starts {
                    // The same profile again: the worker gives it a fresh one-time token.
                    let host = update.record.host
                    let profile = update.record.profile
                    try await Self.recordDelivery(
                        connection, postgresLog, host: host, profile: profile, identifier: identifiers[profile] ?? "", .installProfile, now: stamp)
                    try await Self.queue(connection, postgresLog, host: host, profile: profile, .installProfile, now: stamp)
                }
            }
            return RenewalSQL.result(updates)
        }
    }

    /// The advisory lock renewal passes take turns on ("SCRE").
    static let renewalLock: Int64 = 0x5343_5245
}
