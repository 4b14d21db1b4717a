import Foundation

/// Why the proxy refuses a request, before anything goes upstream.
public enum ProxyRefusal: Error, Sendable, Hashable {
    /// No such host, profile or CA for that host and profile.
    case unknownIdentifier
    /// The delivery exists but is not rendered-and-unacknowledged.
    case notInFlight
    /// The one-time token is unknown, used, or for another delivery.
    case tokenRejected
    /// The delivery's own token, past its lifetime: the device can no longer enroll with
    /// the profile it holds.
    case tokenExpired

    /// For logs and metrics.
    public var reason: String {
        switch self {
        case .unknownIdentifier: "unknown_identifier"
        case .notInFlight: "not_in_flight"
        case .tokenRejected: "token_rejected"
        case .tokenExpired: "token_expired"
        }
    }

    /// Whether a request for a delivery may go upstream at all.
    public static func admit(_ delivery: DeliveryState) -> Result<Void, ProxyRefusal> {
        delivery.isInFlight ? .success(()) : .failure(.notInFlight)
    }

    /// A consumed token: `expiresAt` nil when no row matched (forged, replayed, or another
    /// delivery's), which the store left untouched.
    public static func consumed(expiresAt: Date?, now: Date) -> Result<Void, ProxyRefusal> {
        guard let expiresAt else { return .failure(.tokenRejected) }
        return expiresAt > now ? .success(()) : .failure(.tokenExpired)
    }
}
