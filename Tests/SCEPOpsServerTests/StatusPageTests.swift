import Foundation
import SCEPOpsCore
@testable import SCEPOpsServer
import SCEPOpsStore
import Testing

/// The status page's rules on values alone: escaping and a CA's health.
@Suite("Status page")
struct StatusPageTests {
    @Test func everyValueIsEscaped() {
        #expect(StatusPage.escape(#"<script>alert("x")</script> & 'y'"#) == "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &apos;y&apos;")
    }

    @Test func healthIsTheWorstOfWhatIsKnown() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let year = now.addingTimeInterval(365 * 86_400)
        #expect(StatusPage.health(expiry: year, failedRenewals: 0, upstreamErrors: 0, now: now).0 == .ok)
        #expect(StatusPage.health(expiry: nil, failedRenewals: 0, upstreamErrors: 0, now: now).0 == .ok)
        #expect(StatusPage.health(expiry: now.addingTimeInterval(10 * 86_400), failedRenewals: 0, upstreamErrors: 0, now: now).0 == .warning)
        let failing = StatusPage.health(expiry: now.addingTimeInterval(-1), failedRenewals: 2, upstreamErrors: 3, now: now)
        #expect(failing.0 == .failing && failing.1 == "2 renewals failed; 3 proxied requests failed; its certificate has expired")
    }

    @Test func chartHasABarForExpiredEachWeekAndLater() {
        let chart = StatusPage.chartSection((expired: 1, weeks: [0, 2] + Array(repeating: 0, count: 11), later: 5))
        #expect(chart.matches(of: /data-count="/).count == 15)
        #expect(chart.contains(#"data-week="expired" data-count="1""#) && chart.contains(#"data-week="week-2" data-count="2""#))
        #expect(chart.contains(#"data-figure="certificates">8<"#))
    }
}
