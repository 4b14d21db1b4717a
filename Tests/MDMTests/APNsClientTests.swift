import Foundation
@testable import MDM
import NIOPosix
import NIOSSL
import SCEPOpsTestSupport
import Testing

/// The APNs client against an HTTP/2 TLS server that speaks APNs's protocol.
@Suite("APNs client")
struct APNsClientTests {
    private func withClient(_ body: (APNsTestServer, APNsClient) async throws -> Void) async throws {
        let server = try await APNsTestServer()
        let topic = try #require(APNsClient.topic(certificatePEM: server.pushCertificatePEM))
        let http = try APNsClient.makeHTTPClient(
            certificatePEM: server.pushCertificatePEM, keyPEM: server.pushKeyPEM,
            trustRoots: try NIOSSLCertificate.fromPEMBytes(Array(server.serverCertificatePEM.utf8)))
        let client = APNsClient(client: http, endpoint: server.url, topic: topic, backoff: .milliseconds(20))
        do {
            try await body(server, client)
        } catch {
            try? await http.shutdown()
            await server.stop()
            throw error
        }
        try await http.shutdown()
        await server.stop()
    }

    @Test func aPushReachesTheServerWithPathHeadersAndPayload() async throws {
        try await withClient { server, client in
            #expect(client.topic == APNsTestServer.topic)
            #expect(await client.push(token: "ab12cd", pushMagic: "MAGIC-1") == .delivered)
            let request = try #require(server.requests.first)
            #expect(request.token == "ab12cd")
            #expect(request.headers["apns-push-type"] == "mdm")
            #expect(request.headers["apns-topic"] == APNsTestServer.topic)
            #expect(request.body == "{\"mdm\":\"MAGIC-1\"}")
        }
    }

    /// The payload is written by hand: whatever a device's PushMagic holds, it is JSON that
    /// gives it back.
    @Test func thePayloadIsJSONForAnyPushMagic() throws {
        for magic in ["MAGIC-1", "q\"uote", "back\\slash/", "tab\tnew\nline\u{1}", "ünï😀"] {
            let json = try JSONSerialization.jsonObject(with: Data(APNsClient.payload(pushMagic: magic))) as? [String: String]
            #expect(json == ["mdm": magic])
        }
    }

    @Test func unregisteredAndBadTokensAreStaleAndTooManyRequestsIsRetried() async throws {
        try await withClient { server, client in
            server.respond(to: "gone", with: [410])
            server.respond(to: "bad", with: [400])
            server.respond(to: "busy", with: [429, 503])
            #expect(await client.push(token: "gone", pushMagic: "m") == .staleToken(reason: "Unregistered"))
            #expect(await client.push(token: "bad", pushMagic: "m") == .staleToken(reason: "BadDeviceToken"))
            #expect(await client.push(token: "busy", pushMagic: "m") == .delivered)
            #expect(server.requests.filter { $0.token == "busy" }.count == 3)
            server.respond(to: "down", with: [500, 500, 500])
            #expect(await client.push(token: "down", pushMagic: "m") == .retryLater(reason: "InternalServerError"))
        }
    }

    /// Every push is a stream on one connection: thousands in flight at once, past the
    /// server's limit on concurrent streams, and more answer bytes than the connection's
    /// flow-control window holds unless the client gives them back.
    @Test func thousandsOfPushesShareOneConnectionWithoutStalling() async throws {
        let server = try await APNsTestServer()
        // A loop of its own: this burst is seconds of work for a debug build's loop, and the
        // shared loops carry every other test's connections.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let http = try APNsClient.makeHTTPClient(
            certificatePEM: server.pushCertificatePEM, keyPEM: server.pushKeyPEM,
            trustRoots: try NIOSSLCertificate.fromPEMBytes(Array(server.serverCertificatePEM.utf8)), group: group)
        // A stall fails every push at its timeout; a machine busy with the whole suite only
        // makes them slow, so the timeout is far past the seconds 1,400 pushes take alone.
        let client = APNsClient(
            client: http, endpoint: server.url, topic: APNsTestServer.topic, attempts: 1, timeout: .seconds(300))
        // 1,400 answers of {"reason":"Unregistered","timestamp":…}: 71 KB, past the 64 KiB window.
        let tokens = (0..<1400).map { "gone-\($0)" }
        for token in tokens { server.respond(to: token, with: [410]) }
        let outcomes = await withTaskGroup(of: APNsClient.Outcome.self) { group in
            for token in tokens { group.addTask { await client.push(token: token, pushMagic: "m") } }
            return await group.reduce(into: [APNsClient.Outcome]()) { $0.append($1) }
        }
        #expect(outcomes.count == 1400)
        #expect(outcomes.allSatisfy { $0 == .staleToken(reason: "Unregistered") }, "\(Set(outcomes.map { "\($0)" }))")
        #expect(server.requests.count == 1400 && Set(server.requests.map(\.token)) == Set(tokens), "each once")
        #expect(await client.push(token: "after", pushMagic: "m") == .delivered)
        try await http.shutdown()
        #expect(await client.push(token: "shut", pushMagic: "m") == .retryLater(reason: "APNs could not be reached"))
        await server.stop()
        try await group.shutdownGracefully()
    }

    /// The connection is kept between pushes; when the server closes it (idle, here), the
    /// next push connects again instead of failing on the closed one.
    @Test func aPushAfterTheServerClosedTheConnectionConnectsAgain() async throws {
        let server = try await APNsTestServer(closingIdleAfter: .milliseconds(200))
        let http = try APNsClient.makeHTTPClient(
            certificatePEM: server.pushCertificatePEM, keyPEM: server.pushKeyPEM,
            trustRoots: try NIOSSLCertificate.fromPEMBytes(Array(server.serverCertificatePEM.utf8)))
        // A push that meets the server closing the connection is tried again, as every push is.
        let client = APNsClient(client: http, endpoint: server.url, topic: APNsTestServer.topic, backoff: .milliseconds(20))
        #expect(await client.push(token: "before", pushMagic: "m") == .delivered)
        try await Task.sleep(for: .milliseconds(800))
        #expect(await client.push(token: "after", pushMagic: "m") == .delivered)
        #expect(server.requests.contains { $0.token == "after" })
        try await http.shutdown()
        await server.stop()
    }

    @Test func aClientWithoutThePushCertificateIsRefusedByTheServer() async throws {
        let server = try await APNsTestServer()
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(server.serverCertificatePEM.utf8)))
        let http = try APNsHTTP2Client(tls: tls)
        let client = APNsClient(client: http, endpoint: server.url, topic: "x", attempts: 1)
        let outcome = await client.push(token: "t", pushMagic: "m")
        #expect(outcome == .retryLater(reason: "APNs could not be reached"))
        #expect(server.requests.isEmpty)
        try await http.shutdown()
        await server.stop()
    }
}
