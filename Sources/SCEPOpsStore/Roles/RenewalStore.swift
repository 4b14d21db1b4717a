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

    public init(started: Int = 0, renewed: Int = 0, retrying: Int = 0, failed: Int = 0) {
        self.started = started
        self.renewed = renewed
        self.retrying = retrying
        self.failed = failed
    }
}
