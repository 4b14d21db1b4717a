import Foundation
import GRDB

/// Hosts as enrollment records them (the server's side; designed with the state).
public protocol HostStore {
    /// Records a host in a team (nil: in none), or moves it.
    func enroll(host uuid: String, serial: String?, team: String?) throws(StoreError)
    /// The host's queued commands, oldest first.
    func queuedCommands(host uuid: String) throws(StoreError) -> [QueuedCommand]
    /// Managed profiles the host reported that the state did not deliver.
    func unexpectedProfiles(host uuid: String) throws(StoreError) -> [String]
}

/// A command in a host's queue; `commandUUID` and `payload` are set once it is rendered.
public struct QueuedCommand: Sendable, Hashable {
    public var profile: String
    public var type: String
    public var commandUUID: String?
    public var payload: [UInt8]?
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
                for (old, type) in [(previous, "RemoveProfile"), (team, "InstallProfile")] {
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
                db,
                sql: """
                    SELECT profile_uuid, request_type, command_uuid, payload FROM command_outbox
                    WHERE host_uuid = ? AND status = 'queued' ORDER BY id
                    """, arguments: [uuid]
            ).map { row in
                let payload: Data? = row["payload"]
                return QueuedCommand(
                    profile: row["profile_uuid"], type: row["request_type"], commandUUID: row["command_uuid"],
                    payload: payload.map { [UInt8]($0) })
            }
        }
    }
}
