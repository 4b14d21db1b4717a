import Foundation
import SCEPOpsCore
import SCEPOpsServer
import SCEPOpsStore
import SCEPOpsTestSupport
import Testing

/// The admin listener in process over a real state: bearer tokens, JSON errors, the
/// limit on failed attempts, and `/metrics` behind a token.
@Suite("Admin API")
struct AdminAPITests {
    /// The admin listener on `harness`'s state, for `body`; stopped whatever happens.
    func withAdmin(_ harness: ProxyHarness, limit: AuthFailureLimit, _ body: (Int) async throws -> Void) async throws {
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = try AdminApplication.make(
            host: "127.0.0.1", port: 0, tls: nil, store: harness.store, box: harness.box, metrics: ServerMetrics(), limit: limit,
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) })
        let server = Task { try await app.run() }
        defer { server.cancel() }
        var port = 0
        for await value in stream {
            port = value
            break
        }
        try await body(port)
    }

    func token(_ harness: ProxyHarness, _ name: String, _ role: TokenRole, expires: Date? = nil) async throws -> String {
        let secret = APITokenSecret.generate()
        #expect(try await harness.store.createToken(
            APIToken(name: name, role: role, createdAt: Date(), expiresAt: expires), digest: APITokenSecret.digest(secret)))
        return secret
    }

    func errorCode(_ answer: ProxyHarness.Answer) -> String? {
        let json = try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any]
        return (json?["error"] as? [String: Any])?["code"] as? String
    }

    @Test func tokensGateEveryCallAndRefusalsAreJSON() async throws {
        try await ProxyHarness.with { harness in
            let read = try await token(harness, "reader", .read)
            let expired = try await token(harness, "old", .apply, expires: Date().addingTimeInterval(-1))
            let revoked = try await token(harness, "gone", .apply)
            #expect(try await harness.store.revokeToken(name: "gone", now: Date()))
            try await withAdmin(harness, limit: AuthFailureLimit(maximum: 100)) { port in
                let status = "http://127.0.0.1:\(port)/v1/status"
                let ok = try await harness.request(status, headers: ["Authorization": "Bearer \(read)"])
                #expect(ok.status == 200 && ok.contentType == "application/json")
                let document = try #require(try JSONSerialization.jsonObject(with: Data(ok.body)) as? [String: Any])
                #expect((document["teams"] as? [[String: Any]])?.map { $0["name"] as? String }.sorted { ($0 ?? "") < ($1 ?? "") } == ["Kiosks", "Workstations"])
                #expect(try await harness.store.tokens().first { $0.name == "reader" }?.lastUsedAt != nil, "last use stamped")

                for headers in [[:], ["Authorization": "Bearer scepops_made-up"], ["Authorization": "Bearer \(expired)"],
                    ["Authorization": "Bearer \(revoked)"], ["Authorization": "Basic \(read)"]]
                {
                    let refused = try await harness.request(status, headers: headers)
                    #expect(refused.status == 401, "\(headers)")
                    #expect(errorCode(refused) == "unauthorized" && refused.headers["www-authenticate"] == "Bearer")
                    #expect(!refused.text.contains("scepops_"), "no token in an error body")
                }
                let metrics = "http://127.0.0.1:\(port)/metrics"
                #expect(try await harness.request(metrics).status == 401)
                let scraped = try await harness.request(metrics, headers: ["Authorization": "Bearer \(read)"])
                #expect(scraped.status == 200 && scraped.text.contains("scepops_admin_refusals_total"))
                let missing = try await harness.request("http://127.0.0.1:\(port)/v1/nothing", headers: ["Authorization": "Bearer \(read)"])
                #expect(missing.status == 404 && errorCode(missing) == "not_found")
            }
            // The device listener keeps /healthz; /metrics there is the server's choice (`metricsOnDeviceListener`).
            #expect(try await harness.request("http://127.0.0.1:\(harness.port)/healthz").status == 200)
        }
    }

    @Test func failedAttemptsFromOneAddressAreLimited() async throws {
        try await ProxyHarness.with { harness in
            let read = try await token(harness, "reader", .read)
            try await withAdmin(harness, limit: AuthFailureLimit(maximum: 3, window: 60)) { port in
                let status = "http://127.0.0.1:\(port)/v1/status"
                for _ in 0..<3 { #expect(try await harness.request(status, headers: ["Authorization": "Bearer wrong"]).status == 401) }
                let limited = try await harness.request(status, headers: ["Authorization": "Bearer \(read)"])
                #expect(limited.status == 429 && errorCode(limited) == "rate_limited", "even a good token waits")
                #expect(Int(limited.headers["retry-after"] ?? "") ?? 0 > 0)
            }
        }
    }

    /// Behind a load balancer named as trusted, each client is limited on its own; the same
    /// header from anyone else changes nothing.
    @Test func behindATrustedProxyEachClientIsLimitedOnItsOwn() async throws {
        try await ProxyHarness.with { harness in
            let read = try await token(harness, "reader", .read)
            try await withAdmin(harness, limit: AuthFailureLimit(maximum: 2, window: 60, trustedProxies: ["127.0.0.1"])) { port in
                let status = "http://127.0.0.1:\(port)/v1/status"
                for _ in 0..<2 {
                    let refused = try await harness.request(
                        status, headers: ["Authorization": "Bearer wrong", "X-Forwarded-For": "203.0.113.7"])
                    #expect(refused.status == 401)
                }
                let limited = try await harness.request(
                    status, headers: ["Authorization": "Bearer \(read)", "X-Forwarded-For": "203.0.113.7"])
                #expect(limited.status == 429)
                let other = try await harness.request(
                    status, headers: ["Authorization": "Bearer \(read)", "X-Forwarded-For": "203.0.113.8"])
                #expect(other.status == 200, "another client behind the same proxy is not held up")
            }
            try await withAdmin(harness, limit: AuthFailureLimit(maximum: 2, window: 60)) { port in
                let status = "http://127.0.0.1:\(port)/v1/status"
                for client in ["203.0.113.1", "203.0.113.2"] {
                    _ = try await harness.request(status, headers: ["Authorization": "Bearer wrong", "X-Forwarded-For": client])
                }
                let spoofed = try await harness.request(
                    status, headers: ["Authorization": "Bearer \(read)", "X-Forwarded-For": "203.0.113.3"])
                #expect(spoofed.status == 429, "from an untrusted peer the header is ignored")
            }
        }
    }
}
