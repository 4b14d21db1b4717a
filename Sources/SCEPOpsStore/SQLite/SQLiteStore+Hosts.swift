import Foundation
import GRDB
import SCEPOpsCore

extension SQLiteStore: HostStore {
    public func enroll(host uuid: String, serial: String?, team: String?) async throws(StoreError) {
        try await write { db in
            try Self.move(db, host: uuid, serial: serial, to: team, now: Self.timestamp())
        }
    }

    public func unexpectedProfiles(host uuid: String) async throws(StoreError) -> [String] {
        try await read { db in
            try String.fetchAll(
                db, sql: "SELECT identifier FROM host_unexpected_profile WHERE host_uuid = ? ORDER BY identifier",
                arguments: [uuid])
        }
    }

    public func hosts() async throws(StoreError) -> [HostSummary] {
        try await read { db in
            var counts: [String: [DeliveryStatus: Int]] = [:]
            for row in try Row.fetchAll(db, sql: HostSummary.deliveryCounts) {
                counts[row["host_uuid"], default: [:]][row["status"] as DeliveryStatus] = row["n"]
            }
            return HostSummary.ordered(
                try Row.fetchAll(db, sql: HostSummary.hostColumns).map { row in
                    HostSummary(
                        uuid: row["uuid"], serial: row["serial"], team: row["team"],
                        enrolledAt: Self.date(row["enrolled_at"]) ?? Date(timeIntervalSince1970: 0), lastSeen: Self.date(row["last_seen_at"]),
                        deliveries: counts[row["uuid"]] ?? [:])
                })
        }
    }

    public func deliveries(host uuid: String) async throws(StoreError) -> [HostDelivery] {
        try await read { db in
            try Row.fetchAll(db, sql: HostDelivery.query, arguments: [uuid]).map { row in
                HostDelivery(
                    identifier: row["identifier"], operation: row["operation"], status: row["status"], detail: row["detail"],
                    updatedAt: row["updated_at"])
            }
        }
    }

    public func queuedCommands(host uuid: String) async throws(StoreError) -> [QueuedCommand] {
        try await read { db in
            try Row.fetchAll(
                db, sql: Self.queuedCommandColumns + " WHERE o.host_uuid = ? AND o.status = 'queued' ORDER BY o.id",
                arguments: [uuid]
            ).map(Self.queuedCommand)
        }
    }

    /// Records the host in `team` (nil: in none) and queues what `TeamMove` sends it.
    static func move(_ db: Database, host: String, serial: String?, to team: String?, now: String) throws {
        let previous = try String?.fetchOne(db, sql: "SELECT team FROM host WHERE uuid = ?", arguments: [host]) ?? nil
        try db.execute(
            sql: """
                INSERT INTO host (uuid, serial, team, enrolled_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (uuid) DO UPDATE SET serial = COALESCE(excluded.serial, serial), team = excluded.team
                """, arguments: [host, serial, team, now])
        guard previous != team else { return }
        var identifiers: [String: [String]] = [:]
        var uuids: [ProfileKey: String] = [:]
        for name in [previous, team].compactMap({ $0 }) {
            for row in try Row.fetchAll(db, sql: "SELECT uuid, identifier FROM profile WHERE team = ?", arguments: [name]) {
                identifiers[name, default: []].append(row["identifier"])
                uuids[ProfileKey(team: name, identifier: row["identifier"])] = row["uuid"]
            }
        }
        for delivery in TeamMove.deliveries(from: previous, to: team, profiles: identifiers) {
            guard let uuid = uuids[delivery.profile] else { continue }
            try recordDelivery(db, host: host, profile: uuid, identifier: delivery.profile.identifier, delivery.kind, now: now)
            try queue(db, host: host, profile: uuid, delivery.kind, now: now)
        }
    }

    static var queuedCommandColumns: String { QueuedCommand.columns }

    static func queuedCommand(_ row: Row) -> QueuedCommand {
        let content: Data? = row["content"]
        return QueuedCommand(
            host: row["host_uuid"], profile: row["profile_uuid"], type: row["request_type"], commandUUID: row["command_uuid"],
            identifier: row["identifier"], content: content.map { [UInt8]($0) }, certificateAuthority: row["ca"],
            token: row["token"])
    }
}
