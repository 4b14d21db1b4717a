import Foundation

/// How a renewal moves: due by the rule, started (the profile goes out again with a fresh
/// token), renewed when a newer certificate comes back, retried with a doubling backoff
/// when an attempt fails, and `failed` after the last attempt, where it stays until the
/// host holds a newer certificate: a CA that fails every renewal is never asked every cycle.
public struct RenewalPolicy: Sendable, Hashable {
    /// Attempts before the renewal is `failed`.
    public var maximumAttempts: Int
    /// The wait after the first failed attempt; each later one waits twice as long.
    public var backoff: TimeInterval
    /// How long after its delivery is verified an attempt waits for the newer certificate.
    public var attemptTimeout: TimeInterval

    public init(maximumAttempts: Int = 3, backoff: TimeInterval = 3600, attemptTimeout: TimeInterval = 3600) {
        self.maximumAttempts = maximumAttempts
        self.backoff = backoff
        self.attemptTimeout = attemptTimeout
    }

    /// The record once what is known now is taken in: the certificate the host stands on
    /// (`HeldCertificate.standing`) and the status of the profile's delivery to it.
    public func advance(
        _ progress: RenewalProgress, standing: HeldCertificate?, rule: RenewalRule, delivery: DeliveryStatus?, now: Date
    ) -> RenewalProgress {
        var next = progress
        if let serial = progress.replacingSerial, let notAfter = progress.replacingNotAfter, let standing, standing.serial != serial,
            standing.notAfter > notAfter
        {
            next = RenewalProgress(state: .renewed, attempts: progress.attempts, lastAttemptAt: progress.lastAttemptAt)
        }
        switch next.state {
        case .none, .renewed:
            guard let standing, rule.isDue(notBefore: standing.notBefore, notAfter: standing.notAfter, now: now) else { return next }
            return RenewalProgress(state: .due, replacingSerial: standing.serial, replacingNotAfter: standing.notAfter)
        case .inProgress:
            let timedOut = delivery == .verified && now.timeIntervalSince(next.lastAttemptAt ?? now) >= attemptTimeout
            guard delivery == .failed || timedOut else { return next }
            guard next.attempts < maximumAttempts else {
                next.state = .failed
                next.retryAt = nil
                return next
            }
            next.state = .due
            next.retryAt = now.addingTimeInterval(backoff * Double(1 << min(max(next.attempts - 1, 0), 16)))
            return next
        case .due, .failed:
            return next
        }
    }

    /// The record of an attempt that starts now.
    public func start(_ progress: RenewalProgress, now: Date) -> RenewalProgress {
        var next = progress
        next.state = .inProgress
        next.attempts += 1
        next.lastAttemptAt = now
        next.retryAt = nil
        return next
    }
}
