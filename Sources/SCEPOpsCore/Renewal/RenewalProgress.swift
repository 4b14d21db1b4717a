import Foundation

/// The renewal record of one host's certificate for one profile.
public struct RenewalProgress: Sendable, Hashable {
    public var state: RenewalState
    /// Attempts since the certificate became due.
    public var attempts: Int
    public var lastAttemptAt: Date?
    /// The earliest next attempt, after a failed one.
    public var retryAt: Date?
    /// The serial and expiry of the certificate being replaced.
    public var replacingSerial: String?
    public var replacingNotAfter: Date?

    public init(
        state: RenewalState = .none, attempts: Int = 0, lastAttemptAt: Date? = nil, retryAt: Date? = nil,
        replacingSerial: String? = nil, replacingNotAfter: Date? = nil
    ) {
        self.state = state
        self.attempts = attempts
        self.lastAttemptAt = lastAttemptAt
        self.retryAt = retryAt
        self.replacingSerial = replacingSerial
        self.replacingNotAfter = replacingNotAfter
    }

    /// Due, and past its retry time: it may start when the CA's limit admits it.
    public func isReady(at now: Date) -> Bool {
        state == .due && (retryAt.map { now >= $0 } ?? true)
    }
}
