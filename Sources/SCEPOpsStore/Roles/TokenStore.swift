import Foundation
import SCEPOpsCore

/// The admin API's tokens. The state keeps a token's digest (`APITokenSecret.digest`), never
/// the token: a copy of the database lets no one call the API.
public protocol TokenStore: Sendable {
    /// Records a new token; false when a token of that name exists (revoked ones too: a name
    /// always means one token in the log).
    func createToken(_ token: APIToken, digest: String) async throws(StoreError) -> Bool
    /// Every token, by name.
    func tokens() async throws(StoreError) -> [APIToken]
    /// Marks the token revoked; false when there is no live token of that name.
    func revokeToken(name: String, now: Date) async throws(StoreError) -> Bool
    /// The token with this digest, if any, and stamps its last use.
    func useToken(digest: String, now: Date) async throws(StoreError) -> APIToken?
}

/// A new token's text and its digest.
public enum APITokenSecret {
    /// `scepops_` and 32 random characters: the prefix lets secret scanners and people tell
    /// it for what it is.
    public static func generate() -> String { "scepops_" + SecretBox.randomToken() }

    /// SHA-256, unkeyed: a token is random and long, so its digest cannot be reversed, and
    /// looking it up needs no key.
    public static func digest(_ token: String) -> String { SecretBox.sha256(Array(token.utf8)) }
}
