import Foundation
import SCEPOpsCore
import Testing

/// The renewal decisions, pure: when a certificate is due, which certificate a host stands
/// on, how a renewal moves, and how many may start in an hour.
@Suite("Renewal")
struct RenewalTests {
    static let day: TimeInterval = 86_400
    let issued = Date(timeIntervalSince1970: 1_700_000_000)

    func held(_ serial: String, from notBefore: Date, days: Double, profile: String = "p1") -> HeldCertificate {
        HeldCertificate(
            subject: "OU=fleet-\(profile),CN=host", serial: serial, notBefore: notBefore,
            notAfter: notBefore.addingTimeInterval(days * Self.day), fingerprint: serial)
    }

    /// Validity → remaining time at which it becomes due (the threshold).
    @Test(arguments: [
        (365.0, 30.0), (90, 30), (31, 30), (30, 15), (10, 5), (1, 0.5),
    ])
    func fleetsRuleDueUnderThirtyDaysOrAtHalfTheValidity(_ validity: Double, _ threshold: Double) {
        let rule = RenewalRule()
        let notAfter = issued.addingTimeInterval(validity * Self.day)
        #expect(rule.threshold(notBefore: issued, notAfter: notAfter) == threshold * Self.day)
        let boundary = notAfter.addingTimeInterval(-threshold * Self.day)
        #expect(rule.dueAt(notBefore: issued, notAfter: notAfter) == boundary)
        #expect(!rule.isDue(notBefore: issued, notAfter: notAfter, now: boundary.addingTimeInterval(-1)), "a second before")
        #expect(!rule.isDue(notBefore: issued, notAfter: notAfter, now: boundary), "exactly the threshold left: not under it")
        #expect(rule.isDue(notBefore: issued, notAfter: notAfter, now: boundary.addingTimeInterval(1)), "a second after")
        #expect(rule.isDue(notBefore: issued, notAfter: notAfter, now: notAfter.addingTimeInterval(1)), "expired")
    }

    @Test func aCAsOwnThresholdReplacesTheRule() {
        let rule = RenewalRule(before: 23 * 3600 + 58 * 60)
        let notAfter = issued.addingTimeInterval(Self.day)
        #expect(!rule.isDue(notBefore: issued, notAfter: notAfter, now: issued.addingTimeInterval(119)))
        #expect(rule.isDue(notBefore: issued, notAfter: notAfter, now: issued.addingTimeInterval(121)))
        let long = RenewalRule(before: 60 * Self.day)
        let year = issued.addingTimeInterval(365 * Self.day)
        #expect(long.dueAt(notBefore: issued, notAfter: year) == year.addingTimeInterval(-60 * Self.day))
    }

    @Test func theRenewalIdInOUOrCNNamesTheProfile() {
        #expect(RenewalID.of(profile: "A1") == "fleet-A1")
        #expect(RenewalID.profile(inSubject: "OU=fleet-8C6A,CN=laptop,O=Example") == "8C6A")
        #expect(RenewalID.profile(inSubject: "CN=fleet-8C6A,O=Example") == "8C6A")
        #expect(RenewalID.profile(inSubject: "O=fleet-8C6A,CN=laptop") == nil, "only OU or CN")
        #expect(RenewalID.profile(inSubject: "CN=laptop\\,OU=fleet-X") == nil, "an escaped comma is inside the CN")
        #expect(RenewalID.profile(inSubject: "OU=fleet-,CN=x") == nil)
        #expect(RenewalID.profile(inSubject: "CN=Apple iPhone Device CA") == nil, "unmanaged")
    }

    @Test func theNewestValidCertificateStandsAndTheExpiryNeverMovesBack() {
        let now = issued.addingTimeInterval(10 * Self.day)
        let old = held("01", from: issued, days: 30)
        let new = held("02", from: issued.addingTimeInterval(9 * Self.day), days: 30)
        let future = held("03", from: now.addingTimeInterval(Self.day), days: 30)
        let expired = held("04", from: issued.addingTimeInterval(-40 * Self.day), days: 30)
        #expect(HeldCertificate.standing([old, new, future, expired], recorded: nil, now: now) == new, "outside validity skipped")
        #expect(HeldCertificate.standing([expired], recorded: nil, now: now) == nil)
        // A late answer that lists only the old one does not move the recorded expiry back.
        #expect(HeldCertificate.standing([old], recorded: new, now: now) == new)
        #expect(HeldCertificate.standing([], recorded: new, now: now) == new)
        let later = held("05", from: issued.addingTimeInterval(9.5 * Self.day), days: 30)
        #expect(HeldCertificate.standing([old, later], recorded: new, now: now) == later)
        #expect(new.profile == "p1" && HeldCertificate(subject: "CN=x", serial: "1", notBefore: now, notAfter: now, fingerprint: "").profile == nil)
    }

    @Test func aRenewalIsDueStartsAndEndsRenewedWhenANewerCertificateComesBack() {
        let policy = RenewalPolicy(maximumAttempts: 3, backoff: 60, attemptTimeout: 600)
        let rule = RenewalRule()
        let old = held("01", from: issued, days: 10)
        var progress = policy.advance(.init(), standing: old, rule: rule, delivery: .verified, now: issued.addingTimeInterval(4 * Self.day))
        #expect(progress.state == .none, "5 of 10 days left: not yet")
        let due = issued.addingTimeInterval(5 * Self.day + 1)
        progress = policy.advance(progress, standing: old, rule: rule, delivery: .verified, now: due)
        #expect(progress.state == .due && progress.replacingSerial == "01" && progress.isReady(at: due))
        progress = policy.start(progress, now: due)
        #expect(progress.state == .inProgress && progress.attempts == 1 && progress.lastAttemptAt == due)
        // The old certificate is still listed while the profile is on its way.
        progress = policy.advance(progress, standing: old, rule: rule, delivery: .sent, now: due.addingTimeInterval(30))
        #expect(progress.state == .inProgress)
        let new = held("02", from: due.addingTimeInterval(40), days: 10)
        progress = policy.advance(progress, standing: new, rule: rule, delivery: .verified, now: due.addingTimeInterval(60))
        #expect(progress.state == .renewed && progress.attempts == 1 && progress.replacingSerial == nil)
        // Renewed, it is due again only by the new certificate.
        #expect(policy.advance(progress, standing: new, rule: rule, delivery: .verified, now: due.addingTimeInterval(4 * Self.day)).state == .renewed)
        let again = policy.advance(progress, standing: new, rule: rule, delivery: .verified, now: due.addingTimeInterval(6 * Self.day))
        #expect(again.state == .due && again.attempts == 0 && again.replacingSerial == "02")
    }

    @Test func failedAttemptsBackOffThenTheRenewalFailsAndStaysFailed() {
        let policy = RenewalPolicy(maximumAttempts: 3, backoff: 60, attemptTimeout: 600)
        let rule = RenewalRule()
        let old = held("01", from: issued, days: 2)
        var now = issued.addingTimeInterval(Self.day + 1)
        var progress = policy.advance(.init(), standing: old, rule: rule, delivery: .verified, now: now)
        var waits: [TimeInterval] = []
        for attempt in 1...3 {
            #expect(progress.isReady(at: now), "attempt \(attempt)")
            progress = policy.start(progress, now: now)
            #expect(progress.attempts == attempt)
            // Its delivery fails (the CA refuses, the bounded re-deliveries are spent).
            progress = policy.advance(progress, standing: old, rule: rule, delivery: .failed, now: now.addingTimeInterval(5))
            if let retry = progress.retryAt {
                waits.append(retry.timeIntervalSince(now.addingTimeInterval(5)))
                #expect(!progress.isReady(at: retry.addingTimeInterval(-1)))
                now = retry
            }
        }
        #expect(waits == [60, 120], "a doubling backoff")
        #expect(progress.state == .failed && progress.attempts == 3)
        // Failed, nothing is ready again, cycle after cycle.
        for hours in 1...48 {
            let later = now.addingTimeInterval(Double(hours) * 3600)
            progress = policy.advance(progress, standing: old, rule: rule, delivery: .failed, now: later)
            #expect(progress.state == .failed && !progress.isReady(at: later))
        }
        // Until the host holds a newer certificate (the profile re-applied, say).
        let new = held("02", from: now, days: 2)
        #expect(policy.advance(progress, standing: new, rule: rule, delivery: .verified, now: now.addingTimeInterval(60)).state == .renewed)
    }

    @Test func anAttemptWhoseDeliveryIsVerifiedWithoutANewCertificateTimesOut() {
        let policy = RenewalPolicy(maximumAttempts: 2, backoff: 60, attemptTimeout: 600)
        let old = held("01", from: issued, days: 2)
        let now = issued.addingTimeInterval(Self.day + 1)
        var progress = policy.start(policy.advance(.init(), standing: old, rule: RenewalRule(), delivery: .verified, now: now), now: now)
        progress = policy.advance(progress, standing: old, rule: RenewalRule(), delivery: .verified, now: now.addingTimeInterval(599))
        #expect(progress.state == .inProgress)
        progress = policy.advance(progress, standing: old, rule: RenewalRule(), delivery: .verified, now: now.addingTimeInterval(600))
        #expect(progress.state == .due && progress.retryAt == now.addingTimeInterval(660))
        // A host that does not answer is not the CA's failure: pending stays in progress.
        let waiting = policy.start(progress, now: now.addingTimeInterval(660))
        #expect(policy.advance(waiting, standing: old, rule: RenewalRule(), delivery: .pending, now: now.addingTimeInterval(99_999)).state == .inProgress)
    }

    /// An hour of a worker cycling every 5 s over a fleet all due at once.
    @Test(arguments: [600, 60, 3600, 10_000])
    func atMostTheHourlyLimitStartSpreadOverTheHourWithJitter(_ perHour: Int) {
        let pacer = RenewalPacer(maximumPerHour: perHour)
        var starts: [Date] = []
        var now = issued
        var maximumInAMinute = 0
        while now < issued.addingTimeInterval(2 * 3600) {
            let admitted = pacer.admits(starts: starts, now: now)
            starts += Array(repeating: now, count: admitted)
            now = now.addingTimeInterval(5)
        }
        // Every hour-long and minute-long window, by two pointers over the sorted starts.
        var maximumInAnHour = 0
        for (length, keep) in [(3600.0, 0), (60.0, 1)] {
            var first = 0
            for (index, start) in starts.enumerated() {
                while start.timeIntervalSince(starts[first]) >= length { first += 1 }
                if keep == 0 { maximumInAnHour = max(maximumInAnHour, index - first + 1) }
                else { maximumInAMinute = max(maximumInAMinute, index - first + 1) }
            }
        }
        #expect(maximumInAnHour <= perHour, "\(maximumInAnHour) in an hour")
        let firstHour = starts.filter { $0 < issued.addingTimeInterval(3600) }.count
        // Over an hour, most of the limit starts (the worker's 5 s cycles round the gaps up),
        // never more, and no minute takes much more than its share.
        #expect(firstHour >= perHour / 2, "\(firstHour) of \(perHour)")
        #expect(firstHour <= perHour)
        #expect(maximumInAMinute <= 2 * Int((Double(perHour) / 60).rounded(.up)) + 1, "\(maximumInAMinute) in a minute")
        // Jitter: the gaps between starts differ.
        let gaps = Set(zip(starts.dropFirst(), starts).map { $0.timeIntervalSince($1) }.filter { $0 > 0 })
        #expect(gaps.count > 1 || perHour >= 720, "gaps \(gaps.sorted())")
    }

    @Test func thePacerAdmitsNothingPastTheLimitAndWaitsItsDrawnGap() {
        let pacer = RenewalPacer(maximumPerHour: 2)
        #expect(pacer.admits(starts: [], now: issued) == 1)
        let next = pacer.next(after: issued)
        #expect(next >= issued.addingTimeInterval(900) && next < issued.addingTimeInterval(2700), "half to one and a half of 1800 s")
        #expect(pacer.admits(starts: [issued], now: next.addingTimeInterval(-1)) == 0)
        #expect(pacer.admits(starts: [issued], now: next) == 1)
        let second = issued.addingTimeInterval(1800)
        #expect(pacer.admits(starts: [issued, second], now: issued.addingTimeInterval(3599)) == 0, "two in the hour")
        #expect(pacer.admits(starts: [issued, second], now: max(pacer.next(after: second), issued.addingTimeInterval(3600))) == 1)
        #expect(RenewalPacer(maximumPerHour: 0).maximumPerHour == 1)
        // Drawn from the time of the start: the same on every replica, different per start.
        let waits = (0..<100).map { pacer.next(after: issued.addingTimeInterval(Double($0))).timeIntervalSince(issued.addingTimeInterval(Double($0))) }
        #expect(Set(waits).count == 100 && waits.allSatisfy { $0 >= 900 && $0 < 2700 })
        #expect(abs(waits.reduce(0, +) / 100 - 1800) < 180, "one gap on average")
    }
}
