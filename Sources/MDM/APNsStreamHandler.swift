import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOTLS

/// The end of an APNs connection's pipeline, after TLS and `NIOHTTP2Handler`: each request
/// written to the channel becomes one stream (HEADERS, then DATA ending it), and the frames
/// that come back complete that request's promise. Streams are numbers in a dictionary
/// here, not child channels: a push is a few frames each way. Requests past the server's
/// limit on concurrent streams wait here, not in `NIOHTTP2Handler`: its buffer is scanned on
/// every flush, and with 1,400 pushes waiting there it held the event loop for seconds.
final class APNsStreamHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundIn = APNsRequest
    typealias OutboundOut = HTTP2Frame

    /// The most of a response body kept (APNs answers with a small JSON reason at most).
    static let bodyLimit = 64 * 1024
    /// Stream ids are odd, increasing and 31 bits: a connection that runs out of them is
    /// replaced (about a billion pushes).
    static let lastStreamID: Int32 = Int32.max - 2

    private struct Stream {
        var promise: EventLoopPromise<APNsResponse>
        var status: Int?
        var body: ByteBuffer?
    }

    private let ready: EventLoopPromise<Void>
    private var nextStreamID: Int32 = 1
    private var streams: [HTTP2StreamID: Stream] = [:]
    /// Requests written while `streams` was full, oldest first.
    private var waiting = CircularBuffer<(request: APNsRequest, written: EventLoopPromise<Void>?)>()
    /// The server's SETTINGS_MAX_CONCURRENT_STREAMS; until it says, 100, the least RFC 9113 advises.
    private var concurrentStreams = 100
    /// Set while waiting requests are being written: a request that fails as it is written
    /// frees its place for the same loop, not a nested one.
    private var startingWaiting = false
    /// Set between a read and its `channelReadComplete`, and while streams opened then are
    /// unflushed: the responses of one read start their successors with one flush.
    private var reading = false
    private var unflushed = false
    /// Kept from `handlerAdded` for the writes a stream's end lets go.
    private var context: ChannelHandlerContext?
    /// Set once the connection can take no more requests: each one written fails with it.
    private var unusable: APNsConnectionError?
    /// DATA received and not yet given back (the multiplexer that usually does it is not in
    /// this pipeline).
    private var window = ConnectionWindow()

    init(ready: EventLoopPromise<Void>) {
        self.ready = ready
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: Requests out

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if let unusable {
            request.promise.fail(unusable)
            promise?.fail(unusable)
        } else if streams.count >= concurrentStreams || !waiting.isEmpty {
            waiting.append((request, promise))
        } else {
            start(request, written: promise, context: context)
        }
    }

    /// Opens `request`'s stream: HEADERS, then DATA ending it.
    private func start(_ request: APNsRequest, written promise: EventLoopPromise<Void>?, context: ChannelHandlerContext) {
        let id = HTTP2StreamID(nextStreamID)
        nextStreamID += 2
        streams[id] = Stream(promise: request.promise)
        // A frame NIOHTTP2Handler refuses (a header it will not send, a stream past a GOAWAY)
        // fails this request alone.
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.assumeIsolated().whenFailure { [self] error in finish(id, .failure(error)) }
        promise.map { written.futureResult.cascade(to: $0) }
        context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: request.headers)))), promise: nil)
        context.write(
            wrapOutboundOut(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(request.body), endStream: true)))),
            promise: written)
        if nextStreamID > Self.lastStreamID {
            // Out of stream ids: closed, so that the client forgets it and the next push
            // connects again (what is in flight is tried again there).
            unusable = .closed
            context.close(promise: nil)
        }
    }

    /// Writes waiting requests while the server takes more streams.
    private func startWaiting() {
        guard !startingWaiting, let context else { return }
        startingWaiting = true
        defer { startingWaiting = false }
        while unusable == nil, streams.count < concurrentStreams, let next = waiting.popFirst() {
            start(next.request, written: next.written, context: context)
            unflushed = true
        }
        if unflushed && !reading {
            unflushed = false
            context.flush()
        }
    }

    // MARK: Responses in

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reading = true
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .headers(let headers):
            if let status = headers.headers.first(name: ":status").flatMap({ Int($0) }) {
                streams[frame.streamID]?.status = status
            }
            if headers.endStream { complete(frame.streamID) }
        case .data(let data):
            guard case .byteBuffer(var bytes) = data.data else { return }
            if var stream = streams[frame.streamID] {
                var body = stream.body ?? ByteBuffer()
                let room = Self.bodyLimit - body.readableBytes
                if room > 0, let slice = bytes.readSlice(length: min(room, bytes.readableBytes)) {
                    body.writeImmutableBuffer(slice)
                }
                stream.body = body
                streams[frame.streamID] = stream
            }
            if data.endStream { complete(frame.streamID) }
            // After the stream is complete: writing the WINDOW_UPDATE makes NIOHTTP2Handler
            // deliver the events pending from this frame, among them the stream's close,
            // which for a stream still open here means a reset.
            if let update = window.update(after: data) { context.writeAndFlush(wrapOutboundOut(update), promise: nil) }
        case .settings(.settings(let settings)):
            // Requests wait for the server's first SETTINGS: until then its limit on
            // concurrent streams is unknown, and a burst past it gets the connection closed.
            // A later SETTINGS may change the limit.
            for setting in settings where setting.parameter == .maxConcurrentStreams {
                concurrentStreams = max(1, setting.value)
            }
            ready.succeed(())
            startWaiting()
        case .goAway:
            // The server takes no new streams: whatever is open is tried again on a new
            // connection (a push is a wake-up; one sent twice does no harm).
            unusable = .closed
            context.close(promise: nil)
        default:
            // SETTINGS, PING and WINDOW_UPDATE are NIOHTTP2Handler's to answer.
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        reading = false
        if unflushed {
            unflushed = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted(let negotiated) = event, negotiated != "h2" {
            ready.fail(APNsConnectionError.notHTTP2)
            context.close(promise: nil)
        } else if let event = event as? StreamClosedEvent, streams[event.streamID] != nil {
            // Reset, or closed before its response ended.
            finish(event.streamID, .failure(APNsConnectionError.reset))
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let error = error as? NIOHTTP2Errors.StreamError {
            finish(error.streamID, .failure(error))
            return
        }
        failAll(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(APNsConnectionError.closed)
        context.fireChannelInactive()
    }

    private func complete(_ id: HTTP2StreamID) {
        guard let stream = streams[id] else { return }
        finish(id, .success(APNsResponse(status: stream.status ?? 0, body: stream.body ?? ByteBuffer())))
    }

    private func finish(_ id: HTTP2StreamID, _ result: Result<APNsResponse, Error>) {
        guard let stream = streams.removeValue(forKey: id) else { return }
        stream.promise.completeWith(result)
        startWaiting()
    }

    private func failAll(_ error: Error) {
        unusable = unusable ?? .closed
        ready.fail(error)
        let open = streams
        streams = [:]
        for stream in open.values { stream.promise.fail(error) }
        while let next = waiting.popFirst() {
            next.request.promise.fail(error)
            next.written?.fail(error)
        }
    }
}
