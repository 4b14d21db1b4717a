import Foundation
import SCEPOpsCore
import SCEPOpsStore

/// The fleet at a glance, as gauges: certificates by CA and expiry bucket, deliveries by
/// status, hosts by team. Computed from the state, so every replica exposes the same.
public enum FleetGauges {
    public struct Gauge: Sendable, Hashable {
        public var name: String
        public var labels: [String: String]
        public var value: Int
    }

    /// Where a certificate's expiry falls, from now.
    public static func bucket(_ notAfter: Date, now: Date) -> String {
        let days = notAfter.timeIntervalSince(now) / 86_400
        return days < 0 ? "expired" : days < 7 ? "under_7d" : days < 30 ? "under_30d" : days < 90 ? "under_90d" : "later"
    }

    public static let buckets = ["expired", "under_7d", "under_30d", "under_90d", "later"]

    /// Every series, zeros included for the buckets and statuses of a CA or team that has any.
    public static func compute(certificates: [HostCertificate], hosts: [HostSummary], now: Date) -> [Gauge] {
        var gauges: [Gauge] = []
        let managed = certificates.filter(\.managed)
        for (ca, held) in Dictionary(grouping: managed, by: { $0.certificateAuthority ?? "" }).sorted(by: { $0.key < $1.key }) {
            let counts = Dictionary(grouping: held) { bucket($0.notAfter, now: now) }.mapValues(\.count)
            for name in buckets {
                gauges.append(Gauge(name: "certificates", labels: ["certificate_authority": ca, "expiry": name], value: counts[name] ?? 0))
            }
        }
        var deliveries: [DeliveryStatus: Int] = [:]
        for host in hosts { deliveries.merge(host.deliveries, uniquingKeysWith: +) }
        for status in DeliveryStatus.allCases {
            gauges.append(Gauge(name: "deliveries", labels: ["status": status.rawValue], value: deliveries[status] ?? 0))
        }
        for (team, members) in Dictionary(grouping: hosts, by: { $0.team ?? "" }).sorted(by: { $0.key < $1.key }) where !team.isEmpty {
            gauges.append(Gauge(name: "hosts", labels: ["team": team], value: members.count))
        }
        return gauges
    }
}
