import Foundation
import SCEPOpsCore

/// What the SCEP proxy asks of the state.
public protocol ProxyStore: Sendable {
    /// The CA's URL and recorded certificate, looked up on every request so that a change
    /// applies at once, when the host's delivery of the profile is in flight and the
    /// profile uses the CA.
    func proxyUpstream(_ identifier: ProxyIdentifier) async throws(StoreError) -> Result<ProxyUpstream, ProxyRefusal>
    /// `proxyUpstream`'s answer when it can be read on the caller's thread at once, without
    /// waiting for a connection, a lock or the network; nil otherwise (ask `proxyUpstream`).
    func proxyUpstreamAtOnce(_ identifier: ProxyIdentifier) -> Result<ProxyUpstream, ProxyRefusal>?
    /// Consumes the token atomically. A token that is not this delivery's own changes
    /// nothing: a forged or replayed request cannot touch a delivery.
    func consumeToken(_ identifier: ProxyIdentifier, now: Date) async throws(StoreError) -> Result<Void, ProxyRefusal>
    /// The delivery's token was spent without a certificate coming back: records what the
    /// policy decided, a re-delivery (with its command queued, so that a pending delivery
    /// always has one) or a failure. Nil when the delivery is no longer in flight.
    func tokenSpent(_ identifier: ProxyIdentifier, reason: String, policy: RedeliveryPolicy, now: Date)
        async throws(StoreError) -> RedeliveryPolicy.Decision?
    /// Runs `body` (a PKIOperation) holding one of `limit` slots for the CA at `url`,
    /// shared by every server on this state: `--upstream-concurrency` holds per CA across
    /// replicas. A server waits for a slot, then gives up with `.busy`.
    func withUpstreamSlot<T: Sendable>(url: String, limit: Int, _ body: @escaping @Sendable () async throws -> T)
        async throws -> T
}

extension ProxyStore {
    public func proxyUpstreamAtOnce(_ identifier: ProxyIdentifier) -> Result<ProxyUpstream, ProxyRefusal>? { nil }
}
