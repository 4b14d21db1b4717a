import Foundation
import SCEPOpsCore
import Testing

@Suite("API token decisions")
struct TokenAuthorizationTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func token(_ role: TokenRole, expires: TimeInterval? = nil, revoked: Bool = false) -> APIToken {
        APIToken(
            name: "t", role: role, createdAt: now.addingTimeInterval(-3600), expiresAt: expires.map { now.addingTimeInterval($0) },
            revokedAt: revoked ? now.addingTimeInterval(-60) : nil)
    }

    @Test func eachRoleReachesItsCallsAndNoOthers() {
        let allowed: [TokenRole: Set<AdminCall>] = [
            .read: [.status, .history, .show, .drift, .hosts, .certificates],
            .plan: [.status, .history, .show, .drift, .hosts, .certificates, .plan],
            .apply: Set(AdminCall.allCases),
        ]
        for role in TokenRole.allCases {
            for call in AdminCall.allCases {
                let decision = TokenAuthorization.decide(presented: true, token: token(role), call: call, now: now)
                if allowed[role]!.contains(call) {
                    #expect(decision == .allowed(token(role)), "\(role) \(call)")
                } else {
                    #expect(decision == .forbidden(role: role, call: call), "\(role) \(call)")
                }
            }
        }
    }

    @Test func missingUnknownExpiredAndRevokedTokensAreUnauthorized() {
        #expect(TokenAuthorization.decide(presented: false, token: nil, call: .status, now: now) == .unauthorized(.missing))
        #expect(TokenAuthorization.decide(presented: true, token: nil, call: .status, now: now) == .unauthorized(.unknown))
        #expect(TokenAuthorization.decide(presented: true, token: token(.apply, expires: 0), call: .status, now: now) == .unauthorized(.expired))
        #expect(TokenAuthorization.decide(presented: true, token: token(.apply, expires: 1), call: .status, now: now) == .allowed(token(.apply, expires: 1)))
        #expect(TokenAuthorization.decide(presented: true, token: token(.apply, revoked: true), call: .status, now: now) == .unauthorized(.revoked))
        // Revoked before expired, and either before the role: a dead token says nothing of what it could do.
        #expect(TokenAuthorization.decide(presented: true, token: token(.read, expires: -5, revoked: true), call: .apply, now: now) == .unauthorized(.revoked))
        #expect(TokenAuthorization.decide(presented: true, token: token(.read, expires: -5), call: .apply, now: now) == .unauthorized(.expired))
    }

    @Test func tokenNames() {
        for good in ["ci-plan", "gitlab.apply_1", String(repeating: "a", count: 64)] { #expect(TokenName.problem(good) == nil, "\(good)") }
        for bad in ["", "bad name", "ünï", "a/b", String(repeating: "a", count: 65), "x\n"] { #expect(TokenName.problem(bad) != nil, "\(bad)") }
    }
}

@Suite("The client address failed attempts count against")
struct ClientAddressTests {
    @Test func aTrustedProxyNamesTheClientAndNoOneElseCan() {
        let proxy: Set<String> = ["10.0.0.5"]
        #expect(ClientAddress.resolve(peer: "10.0.0.5", forwardedFor: "203.0.113.7", trusted: proxy) == "203.0.113.7")
        // The proxy appends what it saw; what the client wrote before it counts for nothing.
        #expect(ClientAddress.resolve(peer: "10.0.0.5", forwardedFor: "1.2.3.4, 203.0.113.7", trusted: proxy) == "203.0.113.7")
        #expect(ClientAddress.resolve(peer: "198.51.100.9", forwardedFor: "203.0.113.7", trusted: proxy) == "198.51.100.9")
        #expect(ClientAddress.resolve(peer: "10.0.0.5", forwardedFor: nil, trusted: proxy) == "10.0.0.5")
        #expect(ClientAddress.resolve(peer: "10.0.0.5", forwardedFor: " , ", trusted: proxy) == "10.0.0.5")
        #expect(ClientAddress.resolve(peer: "10.0.0.5", forwardedFor: "203.0.113.7", trusted: []) == "10.0.0.5")
    }
}
