import Foundation
import Hummingbird
import HummingbirdHTTP2
import NIOCore
import NIOPosix
import NIOSSL

/// A stand-in for APNs, the one service the tests cannot reach: a real HTTP/2 server over
/// TLS on loopback that requires a client certificate from its own "Apple" CA, answers
/// `POST /3/device/<token>` as APNs does, and records what it received.
public final class APNsTestServer: @unchecked Sendable {
    public struct Received: Sendable, Hashable {
        public var token: String
        public var headers: [String: String]
        public var body: String
    }

    public static let topic = "com.apple.mgmt.External.scepops-test"

    public let folder = TempRepo()
    public private(set) var port = 0
    public var url: String { "https://127.0.0.1:\(port)" }
    public var pushCertificatePEM: String { read("push.pem") }
    public var pushKeyPEM: String { read("push.key") }
    public var serverCertificatePEM: String { read("server.pem") }

    private let lock = NSLock()
    private var received: [Received] = []
    private var script: [String: [Int]] = [:]
    private var server: Task<Void, Error>?
    /// An event loop of the stand-ins' own: APNs is another machine's CPU, so the stand-in
    /// must not take turns on the client's event loop (sharing it, one thread ran both ends
    /// of every push). Kept for the process, as NIO's singleton is: a connection closing
    /// after a stand-in stops still has work to schedule on it.
    private static let eventLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    /// `closingIdleAfter`: the server closes a connection with no stream open for that long,
    /// as APNs may.
    public init(closingIdleAfter idle: Duration? = nil) async throws {
        try await makeCertificates()
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(folder.path + "/server.pem").map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: folder.path + "/server.key", format: .pem)))
        tls.certificateVerification = .noHostnameVerification
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(folder.path + "/apple-ca.pem"))

        let router = Router()
        router.post("/3/device/{token}") { [self] request, context -> Response in
            var request = request
            let token = context.parameters.get("token") ?? ""
            let body = try await request.collectBody(upTo: 4096)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let status = record(Received(token: token, headers: headers, body: String(buffer: body)))
            guard status != 200 else { return Response(status: .ok) }
            let reason = [400: "BadDeviceToken", 410: "Unregistered", 429: "TooManyRequests"][status] ?? "InternalServerError"
            // A token that is gone also says since when, in milliseconds.
            let json = status == 410 ? "{\"reason\":\"\(reason)\",\"timestamp\":1796083200000}" : "{\"reason\":\"\(reason)\"}"
            return Response(
                status: .init(code: status), headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: json)))
        }
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, server: try .http2Upgrade(tlsConfiguration: tls, configuration: .init(idleTimeout: idle)),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, eventLoopGroupProvider: .shared(Self.eventLoop))
        server = Task { try await app.run() }
        for await port in stream {
            self.port = port
            break
        }
    }

    /// The next answers for a token, in order; 200 once they run out.
    public func respond(to token: String, with statuses: [Int]) {
        lock.withLock { script[token] = statuses }
    }

    public var requests: [Received] { lock.withLock { received } }

    public func stop() async {
        server?.cancel()
        _ = try? await server?.value
    }

    private func record(_ request: Received) -> Int {
        lock.withLock {
            received.append(request)
            guard var answers = script[request.token], !answers.isEmpty else { return 200 }
            let status = answers.removeFirst()
            script[request.token] = answers
            return status
        }
    }

    private func read(_ name: String) -> String {
        (try? String(contentsOfFile: folder.path + "/" + name, encoding: .utf8)) ?? ""
    }

    private func makeCertificates() async throws {
        func openssl(_ arguments: [String]) async throws {
            let result = await Command.run("/usr/bin/openssl", arguments, directory: folder.path)
            guard result.status == 0 else { throw SCEPServer.Failure(message: "openssl: \(result.stderr)") }
        }
        try await openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.pem",
            "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
        try await openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "apple-ca.key", "-out", "apple-ca.pem",
            "-days", "2", "-subj", "/CN=Test Apple Push CA", "-addext", "basicConstraints=critical,CA:TRUE"])
        try await openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "push.key", "-out", "push.csr",
            "-subj", "/UID=\(Self.topic)/CN=APSP:scepops-test"])
        try "extendedKeyUsage=clientAuth\n".write(toFile: folder.path + "/push.ext", atomically: true, encoding: .utf8)
        try await openssl(["x509", "-req", "-in", "push.csr", "-CA", "apple-ca.pem", "-CAkey", "apple-ca.key", "-CAcreateserial",
            "-out", "push.pem", "-days", "2", "-extfile", "push.ext"])
    }
}
