import Foundation

/// When a certificate a host holds is renewed (Fleet's rule): one valid for more than 30
/// days when less than 30 days remain, a shorter-lived one when less than half its validity
/// remains; or, when its CA sets `renewal: {before: DURATION}`, when less than that remains.
public struct RenewalRule: Sendable, Hashable {
    public static let longLived: TimeInterval = 30 * 86_400

    /// The CA's own threshold; nil: the rule above.
    public var before: TimeInterval?

    public init(before: TimeInterval? = nil) {
        self.before = before
    }

    /// The time left at which the certificate is due.
    public func threshold(notBefore: Date, notAfter: Date) -> TimeInterval {
        if let before { return before }
        let validity = notAfter.timeIntervalSince(notBefore)
        return validity > Self.longLived ? Self.longLived : validity / 2
    }

    /// The moment from which the certificate is due.
    public func dueAt(notBefore: Date, notAfter: Date) -> Date {
        notAfter.addingTimeInterval(-threshold(notBefore: notBefore, notAfter: notAfter))
    }

    public func isDue(notBefore: Date, notAfter: Date, now: Date) -> Bool {
        notAfter.timeIntervalSince(now) < threshold(notBefore: notBefore, notAfter: notAfter)
    }
}
