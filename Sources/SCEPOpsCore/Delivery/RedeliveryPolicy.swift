import Foundation

/// What becomes of a delivery whose one-time token was spent without a certificate coming
/// back (the CA failed or timed out after the proxy consumed the token, or the token
/// expired unused): the device cannot enroll with that profile any more, so it gets the
/// profile again with a fresh token, after a backoff that doubles, a bounded number of
/// times; then the delivery fails with the reason.
public struct RedeliveryPolicy: Sendable, Hashable {
    public enum Decision: Sendable, Hashable {
        /// Queue the profile again; the worker makes it ready no earlier than `notBefore`.
        case redeliver(notBefore: Date, detail: String)
        case fail(detail: String)
    }

    /// Re-deliveries before the delivery fails.
    public var maximumRedeliveries: Int
    /// The wait before the first re-delivery; each later one waits twice as long.
    public var backoff: TimeInterval

    public init(maximumRedeliveries: Int = 3, backoff: TimeInterval = 30) {
        self.maximumRedeliveries = maximumRedeliveries
        self.backoff = backoff
    }

    /// `failures`: how many tokens of this delivery were spent without a certificate,
    /// this one included.
    public func decide(failures: Int, reason: String, now: Date) -> Decision {
        guard failures <= maximumRedeliveries else {
            return .fail(detail: "\(reason); given up after \(maximumRedeliveries) re-deliveries with fresh tokens")
        }
        let wait = backoff * Double(1 << min(max(failures - 1, 0), 16))
        return .redeliver(notBefore: now.addingTimeInterval(wait), detail: reason)
    }

    /// A device reports that an InstallProfile failed. For a profile that takes a
    /// certificate from a CA, that is most often the CA or the way to it (a replica that
    /// died mid-exchange, a gateway's 502): it goes out again with a fresh token, bounded and
    /// backed off like a spent token, as Fleet retries failed certificate profiles. Any
    /// other profile's error stands.
    public func afterInstallError(takesCertificate: Bool, failures: Int, detail: String, now: Date) -> Decision {
        guard takesCertificate else { return .fail(detail: detail) }
        return decide(failures: failures, reason: "the device could not install it: \(detail)", now: now)
    }
}

extension RedeliveryPolicy.Decision {
    /// The delivery's status once the decision is recorded.
    public var status: DeliveryStatus {
        switch self {
        case .redeliver: .pending
        case .fail: .failed
        }
    }

    /// What the delivery's detail says: why it goes out again, or why it failed.
    public var detail: String {
        switch self {
        case .redeliver(_, let detail), .fail(let detail): detail
        }
    }
}
