import Foundation
import GRDB
import SCEPOpsCore

/// Hosts as enrollment records them (the server's side; designed with the state).
public protocol HostStore {
    /// Records a host in a team (nil: in none), or moves it.
    func enroll(host uuid: String, serial: String?, team: String?) throws(StoreError)
    /// The host's queued commands, oldest first.
    func queuedCommands(host uuid: String) throws(StoreError) -> [QueuedCommand]
    /// Managed profiles the host reported that the state did not deliver.
    func unexpectedProfiles(host uuid: String) throws(StoreError) -> [String]
}

/// A command in a host's queue, with what rendering it takes: `commandUUID` and, for an
/// install through the proxy, `token` are set once the worker has assigned it.
public struct QueuedCommand: Sendable, Hashable {
    public var host: String
    public var profile: String
    public var type: HostCommandKind
    public var commandUUID: String?
    /// The profile's top-level PayloadIdentifier.
    public var identifier: String
    /// For an install: the profile's bytes (nil once the profile is gone).
    public var content: [UInt8]?
    public var certificateAuthority: String?
    public var token: String?

    /// The columns `init(row:)` reads, for `FROM command_outbox o`.
    static let select = """
        SELECT o.id, o.host_uuid, o.profile_uuid, o.request_type, o.command_uuid,
            COALESCE(hp.identifier, '') AS identifier, p.content,
            (SELECT ca_name FROM profile_certificate_authority pc WHERE pc.profile_uuid = o.profile_uuid
                ORDER BY ca_name LIMIT 1) AS ca,
            (SELECT token FROM proxy_token t WHERE t.host_uuid = o.host_uuid AND t.profile_uuid = o.profile_uuid
                ORDER BY expires_at DESC LIMIT 1) AS token
        FROM command_outbox o
        LEFT JOIN host_profile hp ON hp.host_uuid = o.host_uuid AND hp.profile_uuid = o.profile_uuid
        LEFT JOIN profile p ON p.uuid = o.profile_uuid
        """

    init(row: Row) {
        let content: Data? = row["content"]
        host = row["host_uuid"]
        profile = row["profile_uuid"]
        type = row["request_type"]
        commandUUID = row["command_uuid"]
        identifier = row["identifier"]
        self.content = content.map { [UInt8]($0) }
        certificateAuthority = row["ca"]
        token = row["token"]
    }
}

extension SQLiteStore: HostStore {
    /// A host that joins a team gets the team's profiles queued; one that leaves a team
    /// gets that team's profiles removed, removals first.
    public func enroll(host uuid: String, serial: String?, team: String?) throws(StoreError) {
        do {
            try pool.write { db in
                let now = Self.timestamp()
                let previous = try String?.fetchOne(db, sql: "SELECT team FROM host WHERE uuid = ?", arguments: [uuid]) ?? nil
                try db.execute(
                    sql: """
                        INSERT INTO host (uuid, serial, team, enrolled_at) VALUES (?, ?, ?, ?)
                        ON CONFLICT (uuid) DO UPDATE SET serial = excluded.serial, team = excluded.team
                        """, arguments: [uuid, serial, team, now])
                guard previous != team else { return }
                for (old, type) in [(previous, HostCommandKind.removeProfile), (team, .installProfile)] {
                    guard let old else { continue }
                    for row in try Row.fetchAll(
                        db, sql: "SELECT uuid, identifier FROM profile WHERE team = ? ORDER BY identifier", arguments: [old])
                    {
                        try Self.recordDelivery(
                            db, host: uuid, profile: row["uuid"], identifier: row["identifier"], type: type, now: now)
                        try db.execute(
                            sql: """
                                INSERT INTO command_outbox (host_uuid, profile_uuid, request_type, created_at)
                                VALUES (?, ?, ?, ?)
                                """, arguments: [uuid, row["uuid"], type, now])
                    }
                }
            }
        } catch {
            throw Self.databaseError(error, path: path)
        }
    }

    public func unexpectedProfiles(host uuid: String) throws(StoreError) -> [String] {
        try read { db in
            try String.fetchAll(
                db, sql: "SELECT identifier FROM host_unexpected_profile WHERE host_uuid = ? ORDER BY identifier",
                arguments: [uuid])
        }
    }

    public func queuedCommands(host uuid: String) throws(StoreError) -> [QueuedCommand] {
        try read { db in
            try Row.fetchAll(
                db, sql: QueuedCommand.select + " WHERE o.host_uuid = ? AND o.status = 'queued' ORDER BY o.id", arguments: [uuid]
            ).map(QueuedCommand.init(row:))
        }
    }
}
