import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOTLS

/// The end of an APNs connection's pipeline, after TLS and `NIOHTTP2Handler`: each request
/// written to the channel becomes one stream (HEADERS, then DATA ending it), and the frames
/// that come back complete that request's promise. Streams are numbers in a dictionary
/// here, not child channels: a push is a few frames each way.
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
    /// Set once the connection can take no more requests: each one written fails with it.
    private var unusable: APNsConnectionError?
    /// DATA received and not yet given back (the multiplexer that usually does it is not in
    /// this pipeline).
    private var window = ConnectionWindow()

    init(ready: EventLoopPromise<Void>) {
        self.ready = ready
    }

    // MARK: Requests out

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if let unusable {
            request.promise.fail(unusable)
            promise?.fail(unusable)
            return
        }
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

    // MARK: Responses in

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
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
        case .settings(.settings):
            // Requests wait for the server's first SETTINGS: until then its limit on
            // concurrent streams is unknown, and a burst past it gets the connection closed.
            ready.succeed(())
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
        streams.removeValue(forKey: id)?.promise.completeWith(result)
    }

    private func failAll(_ error: Error) {
        unusable = unusable ?? .closed
        ready.fail(error)
        let open = streams
        streams = [:]
        for stream in open.values { stream.promise.fail(error) }
    }
}
