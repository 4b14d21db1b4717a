import Foundation
import SCEPOpsCore

/// One host as `scepops hosts` lists it: who it is, where it is, and how its deliveries stand.
public struct HostSummary: Sendable, Hashable {
    /// The device's UDID.
    public var uuid: String
    public var serial: String?
    /// nil: in no team (checked out, or enrolled without a team).
    public var team: String?
    public var enrolledAt: Date
    /// The last check-in or command report; nil: never since enrolment.
    public var lastSeen: Date?
    public var deliveries: [DeliveryStatus: Int]

    public init(uuid: String, serial: String?, team: String?, enrolledAt: Date, lastSeen: Date?, deliveries: [DeliveryStatus: Int]) {
        self.uuid = uuid
        self.serial = serial
        self.team = team
        self.enrolledAt = enrolledAt
        self.lastSeen = lastSeen
        self.deliveries = deliveries
    }

    /// The two reads each backend lists hosts with (plain SQL both dialects take).
    static let hostColumns = "SELECT uuid, serial, team, enrolled_at, last_seen_at FROM host"
    static let deliveryCounts = "SELECT host_uuid, status, COUNT(*) AS n FROM host_profile GROUP BY host_uuid, status"

    /// Hosts in one order on every backend: by team (none last), then serial, then UDID.
    static func ordered(_ hosts: [HostSummary]) -> [HostSummary] {
        hosts.sorted { ($0.team == nil ? 1 : 0, $0.team ?? "", $0.serial ?? "", $0.uuid) < ($1.team == nil ? 1 : 0, $1.team ?? "", $1.serial ?? "", $1.uuid) }
    }
}
