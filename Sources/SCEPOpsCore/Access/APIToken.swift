import Foundation

/// A token as the state keeps it: its name, role and dates, never the token itself (the
/// state holds only its digest).
public struct APIToken: Sendable, Hashable {
    public var name: String
    public var role: TokenRole
    public var createdAt: Date
    public var expiresAt: Date?
    public var revokedAt: Date?
    public var lastUsedAt: Date?

    public init(name: String, role: TokenRole, createdAt: Date, expiresAt: Date? = nil, revokedAt: Date? = nil, lastUsedAt: Date? = nil) {
        self.name = name
        self.role = role
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.lastUsedAt = lastUsedAt
    }
}

/// Where a token stands: what `token list` shows, and what the server takes it for.
public enum TokenState: String, Sendable, Hashable {
    case active
    case expired
    case revoked
}

extension APIToken {
    /// Revoked before expired: a revoked token stays revoked whatever its expiry says.
    public func state(at now: Date) -> TokenState {
        if revokedAt != nil { return .revoked }
        if let expiresAt, expiresAt <= now { return .expired }
        return .active
    }
}
