import Foundation
import SCEPOpsCore
import SCEPOpsTestSupport
import Testing

/// A server whose PostgreSQL goes away answers 503 (and `/healthz` fails, so a load
/// balancer takes it out of rotation), and serves again by itself when it is back.
@Suite("Database outage")
struct DatabaseOutageTests {
    @Test(.enabled(if: PostgresTestServer.url != nil, "needs ci/test's PostgreSQL"))
    func aServerThatLosesPostgreSQLFor10sAnswers503ThenServesAgainWithoutARestart() async throws {
        let postgres = try await PrivatePostgres.started()
        try await ProxyHarness.with(database: postgres.url) { harness in
            let healthz = "http://127.0.0.1:\(harness.port)/healthz"
            #expect(try await harness.request(healthz).status == 200)
            let identifier = try await harness.wifi()

            await postgres.pause()
            let lost = ContinuousClock.now
            #expect(try await harness.request(healthz).status == 503)
            let proxied = try await harness.request(
                harness.url(identifier.pathComponent) + "?operation=PKIOperation", method: .POST, body: [0x30, 0x03, 1, 2, 3])
            #expect(proxied.status == 503, "\(proxied.text)")
            #expect(harness.scep.count("PKIOperation") == 0, "nothing went upstream without the state")
            try await Task.sleep(until: lost + .seconds(10))
            #expect(try await harness.request(healthz).status == 503, "still down after 10 s")
            await postgres.resume()

            var healthy = false
            for _ in 0..<40 where !healthy {
                healthy = try await harness.request(healthz).status == 200
                if !healthy { try await Task.sleep(for: .milliseconds(250)) }
            }
            #expect(healthy, "the server recovered without a restart")
            // The token the device holds was never consumed: it still enrolls.
            let work = TempRepo()
            let enrolled = await ProxyHardeningTests.enroll(harness, identifier, in: work)
            #expect(enrolled.status == 0, "\(enrolled.stdout)\(enrolled.stderr)")
        }
    }
}
