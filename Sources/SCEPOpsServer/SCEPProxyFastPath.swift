import HTTPTypes
import NIOCore
import NIOHTTPTypes
import SCEP

/// Answers a proxied GetCACaps or GetCACert on the connection's event loop when nothing has
/// to be waited for: the state's lookup admits it at once and the CA's answer is kept. Every
/// device asks both before each enrollment, and through Hummingbird's async responder each
/// answer took a task, the router and the middleware chain, more than checking it took.
/// Anything else (another route, a refusal, a lookup or answer that would wait) goes on to
/// Hummingbird unchanged, which checks and answers it the same way.
///
/// Sits after Hummingbird's connection-state handler, so that the idle timeout and a
/// graceful shutdown count what is answered here. HTTP/1 answers in order: while a request
/// handed on is unanswered, the ones after it are handed on too.
final class SCEPProxyFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// The answer to a request's head, or nil to hand the request on.
    private let answer: (HTTPRequest) -> SCEPMessage?
    private let serverName: String?
    private var date = HTTPDate()
    /// Requests handed on whose response has not ended yet.
    private var handedOn = 0
    /// The answer for the request being read, written when its end arrives.
    private var answering: (message: SCEPMessage, close: Bool)?
    private var closing = false
    private var unflushed = false

    init(serverName: String?, answer: @escaping (HTTPRequest) -> SCEPMessage?) {
        self.serverName = serverName
        self.answer = answer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // After a `Connection: close` answer, nothing more is read.
        guard !closing else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            // Hummingbird closes after a request that says `close` and keeps the connection
            // for any other value; so does this.
            if handedOn == 0, head.method == .get, context.channel.isWritable, let path = head.path,
                path.utf8.starts(with: Self.routePrefix), let message = answer(head)
            {
                answering = (message, head.headerFields[.connection] == "close")
                return
            }
            handedOn += 1
        case .body:
            if answering != nil { return }
        case .end:
            if let (message, close) = answering {
                answering = nil
                respond(message, close: close, context: context)
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

    private func respond(_ message: SCEPMessage, close: Bool, context: ChannelHandlerContext) {
        var headers = HTTPFields()
        if let type = message.contentType { headers[.contentType] = type }
        headers[.contentLength] = String(message.body.readableBytes)
        headers[.date] = date.now()
        if let serverName { headers[.server] = serverName }
        context.write(wrapOutboundOut(.head(HTTPResponse(status: .ok, headerFields: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(message.body)), promise: nil)
        guard close else {
            context.write(wrapOutboundOut(.end(nil)), promise: nil)
            unflushed = true
            return
        }
        closing = true
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    private static let routePrefix = Array("/mdm/scep/proxy/".utf8)
}
