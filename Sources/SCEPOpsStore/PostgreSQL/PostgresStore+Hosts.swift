import Foundation
import PostgresNIO
import SCEPOpsCore

extension PostgresStore: HostStore {
    public func enroll(host uuid: String, serial: String?, team: String?) async throws(StoreError) {
        try await write { connection in
            try await Self.move(connection, postgresLog, host: uuid, serial: serial, to: team, now: Self.timestamp())
        }
    }

    public func unexpectedProfiles(host uuid: String) async throws(StoreError) -> [String] {
        try await read { connection in
            try await connection.rows(
                "SELECT identifier FROM host_unexpected_profile WHERE host_uuid = \(uuid) ORDER BY identifier", postgresLog
            ).map { try $0.get("identifier", String.self) }
        }
    }

    public func hosts() async throws(StoreError) -> [HostSummary] {
        try await read { connection in
            var counts: [String: [DeliveryStatus: Int]] = [:]
            for row in try await connection.rows(PostgresQuery(unsafeSQL: HostSummary.deliveryCounts), postgresLog) {
                counts[try row.get("host_uuid", String.self), default: [:]][try row.get("status", DeliveryStatus.self)] =
                    Int(try row.get("n", Int64.self))
            }
            return HostSummary.ordered(
                try await connection.rows(PostgresQuery(unsafeSQL: HostSummary.hostColumns), postgresLog).map { row in
                    let uuid = try row.get("uuid", String.self)
                    return HostSummary(
                        uuid: uuid, serial: try row.get("serial"), team: try row.get("team"),
                        enrolledAt: Self.date(try row.get("enrolled_at", String.self)) ?? Date(timeIntervalSince1970: 0),
                        lastSeen: Self.date(try row.get("last_seen_at", String?.self)), deliveries: counts[uuid] ?? [:])
                })
        }
    }

    public func deliveries(host uuid: String) async throws(StoreError) -> [HostDelivery] {
        try await read { connection in
            try await connection.rows(
                PostgresQuery(unsafeSQL: HostProfileCertificate.numbered(HostDelivery.query), binds: Self.binds(uuid)), postgresLog
            ).map { row in
                HostDelivery(
                    identifier: try row.get("identifier"), operation: try row.get("operation"), status: try row.get("status"),
                    detail: try row.get("detail"), updatedAt: try row.get("updated_at"))
            }
        }
    }

    public func queuedCommands(host uuid: String) async throws(StoreError) -> [QueuedCommand] {
        try await read { connection in
            try await connection.rows(
                PostgresQuery(
                    unsafeSQL: Self.queuedCommandColumns + " WHERE o.host_uuid = $1 AND o.status = 'queued' ORDER BY o.id",
                    binds: Self.binds(uuid)), postgresLog
            ).map(Self.queuedCommand)
        }
    }

    /// Records the host in `team` (nil: in none) and queues what `TeamMove` sends it. The
    /// host's row is locked first: two check-ins of one host move it one after the other.
    static func move(
        _ connection: PostgresConnection, _ logger: Logger, host: String, serial: String?, to team: String?, now: String
    ) async throws {
        let previous = try await connection.rows("SELECT team FROM host WHERE uuid = \(host) FOR UPDATE", postgresLog).first
            .flatMap { try $0.get("team", String?.self) }
        try await connection.run(
            """
            INSERT INTO host (uuid, serial, team, enrolled_at) VALUES (\(host), \(serial), \(team), \(now))
            ON CONFLICT (uuid) DO UPDATE SET serial = COALESCE(excluded.serial, host.serial), team = excluded.team
            """, postgresLog)
        guard previous != team else { return }
        var identifiers: [String: [String]] = [:]
        var uuids: [ProfileKey: String] = [:]
        for name in [previous, team].compactMap({ $0 }) {
            for row in try await connection.rows("SELECT uuid, identifier FROM profile WHERE team = \(name)", postgresLog) {
                let identifier = try row.get("identifier", String.self)
                identifiers[name, default: []].append(identifier)
                uuids[ProfileKey(team: name, identifier: identifier)] = try row.get("uuid")
            }
        }
        for delivery in TeamMove.deliveries(from: previous, to: team, profiles: identifiers) {
            guard let uuid = uuids[delivery.profile] else { continue }
            try await recordDelivery(connection, postgresLog, host: host, profile: uuid, identifier: delivery.profile.identifier, delivery.kind, now: now)
            try await queue(connection, postgresLog, host: host, profile: uuid, delivery.kind, now: now)
        }
    }

    static var queuedCommandColumns: String { QueuedCommand.columns }

    static func binds(_ values: String...) -> PostgresBindings {
        var bindings = PostgresBindings()
        for value in values { bindings.append(value) }
        return bindings
    }

    static func queuedCommand(_ row: PostgresRandomAccessRow) throws -> QueuedCommand {
        QueuedCommand(
            host: try row.get("host_uuid"), profile: try row.get("profile_uuid"), type: try row.get("request_type"),
            commandUUID: try row.get("command_uuid"), identifier: try row.get("identifier"),
            content: try row.get("content", Data?.self).map { [UInt8]($0) }, certificateAuthority: try row.get("ca"),
            token: try row.get("token"))
    }
}
