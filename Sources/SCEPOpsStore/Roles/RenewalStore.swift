import Foundation
import SCEPOpsCore

/// Renewal's side of the state: one `RenewalPass` at a time across servers, so each CA's
/// hourly limit is the fleet's.
public protocol RenewalStore: Sendable {
    func renew(now: Date, policy: RenewalPolicy) async throws(StoreError) -> RenewalPassResult
}

/// What a pass did.
public struct RenewalPassResult: Sendable, Hashable {
    public var started = 0
    public var renewed = 0
    /// Attempts that failed and will be tried again, and renewals that failed for good.
    public var retrying = 0
    public var failed = 0
    /// The records that started or finished an attempt, for the log.
    public var events: [RenewalPass.Update] = []

    /// The counts: the events are for the log, and two passes that did the same are equal.
    public static func == (a: Self, b: Self) -> Bool {
        (a.started, a.renewed, a.retrying, a.failed) == (b.started, b.renewed, b.retrying, b.failed)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(started)
        hasher.combine(renewed)
        hasher.combine(retrying)
        hasher.combine(failed)
    }

    public init(started: Int = 0, renewed: Int = 0, retrying: Int = 0, failed: Int = 0) {
        self.started = started
        self.renewed = renewed
        self.retrying = retrying
        self.failed = failed
    }
}
