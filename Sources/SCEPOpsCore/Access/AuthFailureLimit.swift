import Foundation

/// Failed token attempts from one client address: after `maximum` of them within `window`,
/// the address is refused (429) until the oldest leaves the window. Guessing tokens is then
/// `maximum` tries a `window`, and a mistyped token in CI costs one job, not an outage.
public struct AuthFailureLimit: Sendable, Hashable {
    public var maximum: Int
    public var window: TimeInterval
    /// Load balancers whose X-Forwarded-For names the client (`ClientAddress`).
    public var trustedProxies: Set<String>

    public init(maximum: Int = 10, window: TimeInterval = 60, trustedProxies: Set<String> = []) {
        self.maximum = maximum
        self.window = window
        self.trustedProxies = trustedProxies
    }

    /// The address a request's failures count against.
    public func client(peer: String, forwardedFor: String?) -> String {
        ClientAddress.resolve(peer: peer, forwardedFor: forwardedFor, trusted: trustedProxies)
    }

    /// The failures still inside the window at `now`.
    public func recent(_ failures: [Date], now: Date) -> [Date] {
        failures.filter { now.timeIntervalSince($0) < window }
    }

    /// Nil when the address may try; else the seconds until it may again.
    public func retryAfter(_ failures: [Date], now: Date) -> TimeInterval? {
        let recent = recent(failures, now: now).sorted()
        guard recent.count >= maximum, let oldest = recent.first else { return nil }
        return max(1, (window - now.timeIntervalSince(oldest)).rounded(.up))
    }
}
