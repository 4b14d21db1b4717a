import NIOCore
import NIOHTTP1

/// Closes a connection with nothing read or written for `timeout`: idle keep-alives, and
/// requests whose headers or body stall. A request read in full and still being answered
/// (a PKIOperation waiting on its CA) is not idle. Hummingbird's own timer counts only the
/// requests that reach it, so this one sits before `SCEPProxyFastPath` and counts them all;
/// Hummingbird's is turned off.
final class HTTPIdleTimeout: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let timeout: TimeAmount
    private var lastActive = NIODeadline.now()
    /// Requests read whose response has not ended.
    private var inProgress = 0
    /// A request's head has been read and its end not yet.
    private var reading = false
    private var check: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { schedule(context, at: .now() + timeout) }
    }

    func channelActive(context: ChannelHandlerContext) {
        schedule(context, at: .now() + timeout)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActive = .now()
        switch unwrapInboundIn(data) {
        case .head:
            reading = true
            inProgress += 1
        case .body:
            break
        case .end:
            reading = false
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // A parse error's 400 may end a response for no request read.
        if case .end = unwrapOutboundIn(data), inProgress > 0 {
            inProgress -= 1
            if inProgress == 0 {
                lastActive = .now()
                schedule(context, at: lastActive + timeout)
            }
        }
        context.write(data, promise: promise)
    }

    private func schedule(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        guard check == nil else { return }
        check = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            check = nil
            // Answering a request read in full: checked again when its response ends.
            if inProgress > 0, !reading { return }
            let due = lastActive + timeout
            if NIODeadline.now() >= due {
                context.close(promise: nil)
            } else {
                schedule(context, at: due)
            }
        }
    }
}
