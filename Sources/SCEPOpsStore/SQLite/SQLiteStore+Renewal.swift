import Foundation
import GRDB
import SCEPOpsCore

extension SQLiteStore: RenewalStore {
    /// SQLite has one writer: a pass is alone in its transaction.
    public func renew(now: Date, policy: RenewalPolicy) async throws(StoreError) -> RenewalPassResult {
        try await write { db in
            let stamp = Self.timestamp(now)
            var settings: [String: RenewalSettings] = [:]
            for row in try Row.fetchAll(db, sql: RenewalSQL.settings) {
                settings[row["name"]] = RenewalSettings(
                    before: (row["renewal_before"] as Int?).map(Double.init), maximumPerHour: row["renewal_max_per_hour"])
            }
            var starts: [String: [Date]] = [:]
            for row in try Row.fetchAll(db, sql: RenewalSQL.starts, arguments: [Self.timestamp(now.addingTimeInterval(-3600))]) {
                if let started = Self.date(row["started_at"]) { starts[row["ca_name"], default: []].append(started) }
            }
            var identifiers: [String: String] = [:]
            let records = try Row.fetchAll(db, sql: RenewalSQL.records).compactMap { row -> RenewalPass.Record? in
                guard let ca: String = row["ca"], let notBefore = Self.date(row["not_before"]), let notAfter = Self.date(row["not_after"])
                else { return nil }
                identifiers[row["profile_uuid"]] = row["identifier"]
                let state: String = row["renewal_state"]
                return RenewalPass.Record(
                    host: row["host_uuid"], profile: row["profile_uuid"], certificateAuthority: ca,
                    standing: HeldCertificate(
                        subject: row["subject"], serial: row["serial"], notBefore: notBefore, notAfter: notAfter, fingerprint: row["fingerprint"]),
                    progress: RenewalProgress(
                        state: RenewalState(rawValue: state) ?? .none, attempts: row["renewal_attempts"],
                        lastAttemptAt: Self.date(row["last_attempt_at"]), retryAt: Self.date(row["retry_at"]),
                        replacingSerial: row["replacing_serial"], replacingNotAfter: Self.date(row["replacing_not_after"])),
                    delivery: (row["delivery"] as String?).flatMap(DeliveryStatus.init(rawValue:)), deliveryDetail: row["delivery_detail"])
            }
            let updates = RenewalPass.run(records, settings: settings, starts: starts, policy: policy, now: now)
            for update in updates {
                for statement in RenewalSQL.statements(update, now: stamp) {
                    try db.execute(sql: statement.sql, arguments: StatementArguments(statement.values.map(Self.databaseValue)))
                }
                if update.starts {
                    // The same profile again: the worker gives it a fresh one-time token.
                    let host = update.record.host
                    let profile = update.record.profile
                    try Self.recordDelivery(db, host: host, profile: profile, identifier: identifiers[profile] ?? "", .installProfile, now: stamp)
                    try Self.queue(db, host: host, profile: profile, .installProfile, now: stamp)
                }
            }
            return RenewalSQL.result(updates)
        }
    }

    private static func databaseValue(_ value: RenewalSQL.Value) -> (any DatabaseValueConvertible)? {
        switch value {
        case .text(let text): text
        case .integer(let number): number
        }
    }
}
