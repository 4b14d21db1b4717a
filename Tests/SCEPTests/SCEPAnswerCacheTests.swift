import AsyncHTTPClient
import Foundation
import NIOCore
import SCEP
import SCEPOpsTestSupport
import Testing

/// The cache of GetCACaps and GetCACert answers, against a real scepserver: what reaches it.
@Suite("Cached CA answers")
struct SCEPAnswerCacheTests {
    @Test func answersAreReusedPerURLAndCertificateAndFailuresAreNot() async throws {
        let server = try await SCEPServer.started()
        let client = SCEPHTTPClient.makeHTTPClient()
        // A client dropped without shutdown stops the test process: shut it down however the test ends.
        defer { Task { [client] in try? await client.shutdown() } }
        // Reuse is the subject here, not expiry (below): in the full suite this test has
        // taken 74–77 s on two busy cores, past the default lifetime of 60 s.
        let cache = SCEPAnswerCache(lifetime: .seconds(3600))
        // Starting the server asks it once already.
        let caps = server.count("GetCACaps"), certs = server.count("GetCACert")
        func scep(_ fingerprint: String?) -> SCEPHTTPClient {
            SCEPHTTPClient(client: client, url: server.url, timeout: .seconds(10), cache: cache, certificateFingerprint: fingerprint)
        }
        let first = try await scep("AA").getCACert(message: nil)
        let again = try await scep("AA").getCACert(message: nil)
        #expect(Array(again.body.readableBytesView) == Array(first.body.readableBytesView))
        #expect(again.contentType == first.contentType)
        _ = try await scep("AA").getCACaps()
        _ = try await scep("AA").getCACaps()
        #expect(server.count("GetCACert") == certs + 1)
        #expect(server.count("GetCACaps") == caps + 1)
        // Another message is another question; another recorded certificate another CA.
        _ = try await scep("AA").getCACert(message: "other")
        _ = try await scep("BB").getCACert(message: nil)
        #expect(server.count("GetCACert") == certs + 3)
        // Without a cache every call goes to the CA, as the renewal and CA checks want.
        _ = try await SCEPHTTPClient(client: client, url: server.url, timeout: .seconds(10)).getCACaps()
        #expect(server.count("GetCACaps") == caps + 2)

        // A CA that fails leaves nothing kept: the next device asks it again.
        let kept = cache.count
        server.stop()
        await #expect(throws: SCEPUpstreamError.self) { _ = try await scep("CC").getCACaps() }
        #expect(cache.count == kept)
        try await client.shutdown()
    }

    @Test func answersExpireAndTheCacheStaysWithinItsCapacity() async throws {
        let server = try await SCEPServer.started()
        let client = SCEPHTTPClient.makeHTTPClient()
        // A client dropped without shutdown stops the test process: shut it down however the test ends.
        defer { Task { [client] in try? await client.shutdown() } }
        // Two caches: a slow machine must not expire the small one's entries mid-test.
        let expiring = SCEPHTTPClient(
            client: client, url: server.url, timeout: .seconds(10), cache: SCEPAnswerCache(lifetime: .seconds(1)))
        let cache = SCEPAnswerCache(capacity: 2)
        let scep = SCEPHTTPClient(client: client, url: server.url, timeout: .seconds(10), cache: cache)
        let caps = server.count("GetCACaps"), certs = server.count("GetCACert")
        _ = try await expiring.getCACaps()
        try await Task.sleep(for: .milliseconds(1200))
        _ = try await expiring.getCACaps()
        #expect(server.count("GetCACaps") == caps + 2, "expired: asked again")
        _ = try await scep.getCACaps()
        // Full: new questions are answered from the CA and not kept.
        _ = try await scep.getCACert(message: "one")
        _ = try await scep.getCACert(message: "two")
        _ = try await scep.getCACert(message: "two")
        #expect(server.count("GetCACert") == certs + 3)
        #expect(cache.count == 2)
        server.stop()
        try await client.shutdown()
    }
}
