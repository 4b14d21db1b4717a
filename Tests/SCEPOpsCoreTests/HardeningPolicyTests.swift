import Foundation
import SCEPOpsCore
import Testing

/// The pure decisions behind the hardening: identity binding, re-delivery, durations.
@Suite("Hardening policies")
struct HardeningPolicyTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func identityBinding() {
        let bound = IdentityBinding.Bound(fingerprint: "old", checkedOut: false)
        let cases: [(String, String?, IdentityBinding.Bound?, Date?, IdentityBinding.Decision)] = [
            ("new", nil, nil, nil, .bind(usesAllowance: false)),  // first enrolment
            ("old", "H", bound, nil, .bind(usesAllowance: false)),  // the same identity again
            ("new", nil, bound, nil, .refuseRebind),  // a hijack
            ("new", nil, bound, now.addingTimeInterval(-1), .refuseRebind),  // an allowance that ran out
            ("new", nil, bound, now.addingTimeInterval(60), .bind(usesAllowance: true)),
            ("new", nil, .init(fingerprint: "old", checkedOut: true), nil, .bind(usesAllowance: false)),
            ("new", "OTHER", nil, now.addingTimeInterval(60), .refuseReused),  // another host's identity, whatever else
        ]
        for (presented, owner, bound, allowed, expected) in cases {
            let decision = IdentityBinding.decide(
                host: "H", presented: presented, ownerOfPresented: owner, bound: bound, allowedUntil: allowed, now: now)
            #expect(decision == expected, "\(presented) \(String(describing: owner)) \(String(describing: bound))")
        }
    }

    @Test func redeliveryBacksOffThenFails() {
        let policy = RedeliveryPolicy(maximumRedeliveries: 3, backoff: 30)
        #expect(policy.decide(failures: 1, reason: "r", now: now) == .redeliver(notBefore: now.addingTimeInterval(30), detail: "r"))
        #expect(policy.decide(failures: 2, reason: "r", now: now) == .redeliver(notBefore: now.addingTimeInterval(60), detail: "r"))
        #expect(policy.decide(failures: 3, reason: "r", now: now) == .redeliver(notBefore: now.addingTimeInterval(120), detail: "r"))
        #expect(policy.decide(failures: 4, reason: "CA down", now: now) == .fail(detail: "CA down; given up after 3 re-deliveries with fresh tokens"))
    }

    @Test func anInstallErrorRedeliversOnlyACertificateProfile() {
        let policy = RedeliveryPolicy(maximumRedeliveries: 1, backoff: 30)
        #expect(policy.afterInstallError(takesCertificate: false, failures: 1, detail: "no room", now: now) == .fail(detail: "no room"))
        let again = policy.afterInstallError(takesCertificate: true, failures: 1, detail: "SCEP: 502", now: now)
        #expect(again == .redeliver(notBefore: now.addingTimeInterval(30), detail: "the device could not install it: SCEP: 502"))
        #expect(policy.afterInstallError(takesCertificate: true, failures: 2, detail: "SCEP: 502", now: now) == .fail(
            detail: "the device could not install it: SCEP: 502; given up after 1 re-deliveries with fresh tokens"))
    }

    @Test func durations() {
        let cases: [(String, TimeInterval?)] = [
            ("30s", 30), ("5m", 300), ("1h", 3600), ("7d", 604_800), ("23h58m", 86_280), ("1d2h3m4s", 93_784), ("90", 90),
            ("0", nil), ("", nil), ("5x", nil), ("m", nil), ("30m1h", nil), ("1h1h", nil), ("-5m", nil), ("1.5h", nil),
        ]
        for (text, expected) in cases { #expect(DurationText.seconds(text) == expected, "\(text)") }
        #expect(DurationText.seconds("90", plainNumbers: false) == nil)
    }
}
