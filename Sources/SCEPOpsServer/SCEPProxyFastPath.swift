import NIOCore
import NIOHTTP1
import SCEP

/// Answers a proxied GetCACaps or GetCACert on the connection's event loop when nothing has
/// to be waited for: the state's lookup admits it at once and the CA's answer is kept. Every
/// device asks both before each enrollment, and through Hummingbird each answer took a task,
/// the router, the middleware chain and two conversions between NIO's HTTP types and
/// Swift's, more than checking it took. Anything else (another route, a refusal, a lookup
/// or answer that would wait) goes on to Hummingbird unchanged, which checks and answers it
/// the same way.
///
/// Sits right after NIO's HTTP/1 decoder, behind `HTTPIdleTimeout`, which counts what is
/// answered here. HTTP/1 answers in order: while a request handed on is unanswered, the ones
/// after it are handed on too.
final class SCEPProxyFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// The answer to a request's target (path and query) and headers, or nil to hand the
    /// request on.
    private let answer: (String, HTTPHeaders) -> SCEPMessage?
    private let serverName: String?
    private var date = HTTPDate()
    /// Requests handed on whose response has not ended yet.
    private var handedOn = 0
    /// The answer for the request being read, written when its end arrives.
    private var answering: (message: SCEPMessage, keepAlive: Bool)?
    private var closing = false
    private var unflushed = false

    init(serverName: String?, answer: @escaping (String, HTTPHeaders) -> SCEPMessage?) {
        self.serverName = serverName
        self.answer = answer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // After an answer that closes the connection, nothing more is read.
        guard !closing else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            if handedOn == 0, head.method == .GET, context.channel.isWritable, let message = answer(head.uri, head.headers) {
                answering = (message, head.isKeepAlive)
                return
            }
            handedOn += 1
        case .body:
            if answering != nil { return }
        case .end:
            if let (message, keepAlive) = answering {
                answering = nil
                respond(message, keepAlive: keepAlive, context: context)
                return
            }
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if unflushed {
            unflushed = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // A parse error's 400 may end a response no request was handed on for.
        if case .end = unwrapOutboundIn(data), handedOn > 0 { handedOn -= 1 }
        context.write(data, promise: promise)
    }

    private func respond(_ message: SCEPMessage, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.reserveCapacity(5)
        if let type = message.contentType { headers.add(name: "Content-Type", value: type) }
        headers.add(name: "Content-Length", value: String(message.body.readableBytes))
        headers.add(name: "Date", value: date.now())
        if let serverName { headers.add(name: "Server", value: serverName) }
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(message.body))), promise: nil)
        guard !keepAlive else {
            context.write(wrapOutboundOut(.end(nil)), promise: nil)
            unflushed = true
            return
        }
        closing = true
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
