import NIOConcurrencyHelpers
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import NIOSSL

/// HTTP/2 to APNs and nothing else: one TLS connection per server, kept open, each push
/// a stream on it (`APNsStreamHandler`). AsyncHTTPClient made a child channel with its own
/// pipeline, a request task and a URL parse for every push: in a perf profile of 100,000
/// pushes that was most of the client's CPU.
public final class APNsHTTP2Client: Sendable {
    private struct Connection {
        /// The TCP connection, once made: what a timeout closes.
        var channel: EventLoopFuture<any Channel>
        /// The same channel once TLS agreed to h2: what requests wait for.
        var ready: EventLoopFuture<any Channel>
    }

    private let tls: NIOSSLContext
    private let group: any EventLoopGroup
    private let state = NIOLockedValueBox<(connections: [String: Connection], shutDown: Bool)>(([:], false))

    /// `tls` carries the push certificate and key, and the roots that APNs's certificate
    /// must chain to; h2 is asked for in ALPN.
    init(tls: TLSConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        var tls = tls
        tls.applicationProtocols = ["h2"]
        self.tls = try NIOSSLContext(configuration: tls)
        self.group = group
    }

    /// POSTs `body` to `path` on `host:port` and waits at most `timeout`, connecting included.
    func post(host: String, port: Int, path: String, headers: [(String, String)], body: ByteBuffer, timeout: TimeAmount)
        async throws -> APNsResponse
    {
        let connection = try connection(host: host, port: port, timeout: timeout)
        let eventLoop = connection.ready.eventLoop
        let promise = eventLoop.makePromise(of: APNsResponse.self)
        var fields = HPACKHeaders()
        fields.reserveCapacity(4 + headers.count)
        fields.add(name: ":method", value: "POST")
        fields.add(name: ":scheme", value: "https")
        fields.add(name: ":authority", value: port == 443 ? host : "\(host):\(port)")
        fields.add(name: ":path", value: path)
        fields.add(contentsOf: headers)
        let request = APNsRequest(headers: fields, body: body, promise: promise)
        // A server that stops answering takes its connection with it: the next push opens another.
        let timer = eventLoop.scheduleTask(in: timeout) {
            promise.fail(APNsConnectionError.timedOut)
            connection.channel.whenSuccess { $0.close(promise: nil) }
        }
        connection.ready.whenComplete { result in
            switch result {
            // A channel that closed meanwhile takes no write: the push fails now, not at its timeout.
            case .success(let channel): channel.writeAndFlush(request).whenFailure { promise.fail($0) }
            case .failure(let error): promise.fail(error)
            }
        }
        return try await withTaskCancellationHandler {
            defer { timer.cancel() }
            return try await promise.futureResult.get()
        } onCancel: {
            promise.fail(CancellationError())
        }
    }

    /// Closes every connection; a push after this fails.
    public func shutdown() async throws {
        let connections = state.withLockedValue { state in
            state.shutDown = true
            defer { state.connections = [:] }
            return Array(state.connections.values)
        }
        for connection in connections {
            if let channel = try? await connection.channel.get() { try? await channel.close() }
        }
    }

    /// The open connection to `host:port`, or a new one.
    private func connection(host: String, port: Int, timeout: TimeAmount) throws -> Connection {
        let key = "\(host):\(port)"
        return try state.withLockedValue { state in
            guard !state.shutDown else { throw APNsConnectionError.closed }
            if let open = state.connections[key] { return open }
            let connection = connect(host: host, port: port, timeout: timeout)
            state.connections[key] = connection
            // Closed or never made: forgotten, so that the next push connects again.
            let forget: @Sendable () -> Void = { [weak self] in
                self?.state.withLockedValue { state in
                    if state.connections[key]?.ready === connection.ready { state.connections[key] = nil }
                }
            }
            connection.ready.whenFailure { _ in forget() }
            connection.channel.whenSuccess { $0.closeFuture.whenComplete { _ in forget() } }
            return connection
        }
    }

    private func connect(host: String, port: Int, timeout: TimeAmount) -> Connection {
        let eventLoop = group.next()
        let ready = eventLoop.makePromise(of: Void.self)
        let tls = self.tls
        // SNI takes a name, not an address; the certificate is checked against either.
        let isAddress = host.contains(":") || host.utf8.allSatisfy { $0 == UInt8(ascii: ".") || (0x30...0x39).contains($0) }
        let serverName = isAddress ? nil : host
        let channel = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        try NIOSSLClientHandler(context: tls, serverHostname: serverName),
                        NIOHTTP2Handler(mode: .client),
                        APNsStreamHandler(ready: ready),
                    ])
                }
            }
            .connect(host: host, port: port)
        channel.whenFailure { ready.fail($0) }
        return Connection(channel: channel, ready: channel.and(ready.futureResult).map(\.0))
    }
}
