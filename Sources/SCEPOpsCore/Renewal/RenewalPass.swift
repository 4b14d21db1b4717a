import Foundation

/// One pass over the renewal records: each advanced by what is known now
/// (`RenewalPolicy.advance`), then, CA by CA, the ready ones the hourly limit admits
/// started, soonest expiry first. The store reads the records, writes what changed, and for
/// each start re-delivers the profile (a fresh one-time token, the same PayloadIdentifier).
public enum RenewalPass {
    /// One host's certificate for one profile, as renewal reads it.
    public struct Record: Sendable, Hashable {
        public var host: String
        /// The profile's UUID.
        public var profile: String
        public var certificateAuthority: String
        public var standing: HeldCertificate
        public var progress: RenewalProgress
        /// The profile's delivery to the host, and what its detail says.
        public var delivery: DeliveryStatus?
        public var deliveryDetail: String?

        public init(
            host: String, profile: String, certificateAuthority: String, standing: HeldCertificate, progress: RenewalProgress,
            delivery: DeliveryStatus?, deliveryDetail: String? = nil
        ) {
            self.host = host
            self.profile = profile
            self.certificateAuthority = certificateAuthority
            self.standing = standing
            self.progress = progress
            self.delivery = delivery
            self.deliveryDetail = deliveryDetail
        }
    }

    /// A record that changed.
    public struct Update: Sendable, Hashable {
        public var record: Record
        public var progress: RenewalProgress
        /// An attempt starts: the profile goes out again.
        public var starts: Bool
        /// The attempt in progress ended: `renewed` or `failed` (the renewal may still be
        /// retried; `progress.state` says).
        public var finished: RenewalState?
    }

    /// `starts`: each CA's renewal starts within the last hour, from the state.
    public static func run(
        _ records: [Record], settings: [String: RenewalSettings], starts: [String: [Date]], policy: RenewalPolicy, now: Date
    ) -> [Update] {
        var updates: [Update] = []
        var ready: [String: [Int]] = [:]
        for record in records {
            let rule = (settings[record.certificateAuthority] ?? RenewalSettings()).rule
            let next = policy.advance(record.progress, standing: record.standing, rule: rule, delivery: record.delivery, now: now)
            let finished: RenewalState? =
                record.progress.state == .inProgress && next.state != .inProgress ? (next.state == .renewed ? .renewed : .failed) : nil
            if next.isReady(at: now) { ready[record.certificateAuthority, default: []].append(updates.count) }
            updates.append(Update(record: record, progress: next, starts: false, finished: finished))
        }
        for (ca, indices) in ready {
            let pacer = (settings[ca] ?? RenewalSettings()).pacer
            let admitted = pacer.admits(starts: starts[ca] ?? [], now: now)
            for index in indices.sorted(by: { updates[$0].record.standing.notAfter < updates[$1].record.standing.notAfter })
                .prefix(admitted)
            {
                updates[index].progress = policy.start(updates[index].progress, now: now)
                updates[index].starts = true
            }
        }
        return updates.filter { $0.starts || $0.finished != nil || $0.progress != $0.record.progress }
    }
}
