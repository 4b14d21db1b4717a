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
