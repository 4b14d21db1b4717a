import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// Hummingbird's HTTP/1 channel with the proxy's fast path (`SCEPProxyFastPath`, one per
/// connection) right after NIO's HTTP/1 decoder, and the idle timeout (`HTTPIdleTimeout`)
/// before it, where it counts the requests the fast path answers as well as the rest.
struct ProxyHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    private let base: HTTP1Channel
    private let idleTimeout: TimeAmount?
    private let fastPath: @Sendable () -> SCEPProxyFastPath

    /// `configuration`'s idle timeout is kept here, and Hummingbird's own is turned off.
    init(
        responder: @escaping HTTPChannelHandler.Responder, configuration: HTTP1Channel.Configuration,
        fastPath: @escaping @Sendable () -> SCEPProxyFastPath
    ) {
        var hummingbird = configuration
        hummingbird.idleTimeout = nil
        base = HTTP1Channel(responder: responder, configuration: hummingbird)
        idleTimeout = configuration.idleTimeout
        self.fastPath = fastPath
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            let fastPath = fastPath()
            try pipeline.addHandler(fastPath, position: .after(decoder))
            if let idleTimeout { try pipeline.addHandler(HTTPIdleTimeout(timeout: idleTimeout), position: .before(fastPath)) }
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
