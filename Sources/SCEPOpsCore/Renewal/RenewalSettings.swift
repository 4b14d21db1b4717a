import Foundation

/// A CA's `renewal:` block: its own threshold and its hourly limit; nil fields take the
/// defaults (`RenewalRule`, `RenewalPacer.defaultPerHour`).
public struct RenewalSettings: Sendable, Hashable {
    public var before: TimeInterval?
    public var maximumPerHour: Int?

    public init(before: TimeInterval? = nil, maximumPerHour: Int? = nil) {
        self.before = before
        self.maximumPerHour = maximumPerHour
    }

    public var rule: RenewalRule { RenewalRule(before: before) }
    public var pacer: RenewalPacer { RenewalPacer(maximumPerHour: maximumPerHour ?? RenewalPacer.defaultPerHour) }

    /// The most `max_per_hour` may be: one a millisecond is already no limit.
    public static let maximumPerHourLimit = 3_600_000
    /// The longest `before`: ten years.
    public static let longestBefore: TimeInterval = 3650 * 86_400
}
