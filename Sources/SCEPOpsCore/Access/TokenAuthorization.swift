import Foundation

/// Whether a request's bearer token may make a call: 401 for a token that is missing,
/// unknown, expired or revoked (the same answer for each, so a caller learns nothing about
/// which tokens exist), 403 for a live token whose role does not reach the call.
public enum TokenAuthorization: Sendable, Hashable {
    case allowed(APIToken)
    case unauthorized(Reason)
    case forbidden(role: TokenRole, call: AdminCall)

    /// Why a token was not accepted: for the log and the metrics, never for the caller.
    public enum Reason: String, Sendable, Hashable {
        case missing
        case unknown
        case expired
        case revoked
    }

    /// `presented`: whether the request carried a token at all; `token`: the state's record
    /// of the token's digest, if any.
    public static func decide(presented: Bool, token: APIToken?, call: AdminCall, now: Date) -> TokenAuthorization {
        guard presented else { return .unauthorized(.missing) }
        guard let token else { return .unauthorized(.unknown) }
        switch token.state(at: now) {
        case .revoked: return .unauthorized(.revoked)
        case .expired: return .unauthorized(.expired)
        case .active: break
        }
        guard token.role.allows(call) else { return .forbidden(role: token.role, call: call) }
        return .allowed(token)
    }
}
