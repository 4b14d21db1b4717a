import Foundation
import NIOCore
import NIOHTTP2
import NIOPosix
import NIOSSL

/// A stand-in for APNs, the one service the tests cannot reach: a real HTTP/2 server over
/// TLS on loopback that requires a client certificate from its own "Apple" CA, answers
/// `POST /3/device/<token>` as APNs does, and records what it received.
///
/// It speaks HTTP/2 frames itself (`APNsStandInHandler` after NIOHTTP2's connection
/// handler), with no stream channels or router: in the worker benchmark it is another
/// machine's CPU, and a general-purpose server took more of the two cores than the client.
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
    private var listener: Channel?
    private var connections: [ObjectIdentifier: Channel] = [:]
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
        tls.applicationProtocols = ["h2"]
        let context = try NIOSSLContext(configuration: tls)
        let idleTime = idle.map(TimeAmount.init)

        let listener = try await ServerBootstrap(group: Self.eventLoop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        NIOSSLServerHandler(context: context),
                        NIOHTTP2Handler(mode: .server),
                        APNsStandInHandler(idle: idleTime, answer: { [self] in record($0) }),
                    ])
                    let id = ObjectIdentifier(channel)
                    lock.withLock { connections[id] = channel }
                    channel.closeFuture.whenComplete { [self] _ in _ = lock.withLock { connections.removeValue(forKey: id) } }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        self.listener = listener
        port = listener.localAddress?.port ?? 0
    }

    /// The next answers for a token, in order; 200 once they run out.
    public func respond(to token: String, with statuses: [Int]) {
        lock.withLock { script[token] = statuses }
    }

    public var requests: [Received] { lock.withLock { received } }

    /// Stops listening and closes every connection.
    public func stop() async {
        try? await listener?.close()
        for channel in lock.withLock({ Array(connections.values) }) { try? await channel.close() }
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
