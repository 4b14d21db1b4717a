import MDM
import NIOCore
import NIOHPACK
import NIOHTTP2

/// The APNs stand-in's end of a connection, after TLS and `NIOHTTP2Handler`: it reads each
/// stream's request from its frames and writes the answer as frames on the same stream.
final class APNsStandInHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private struct Request {
        var path = ""
        var headers: [String: String] = [:]
        var body = ByteBuffer()
    }

    /// The largest body kept; APNs refuses payloads past 4 KiB.
    static let bodyLimit = 4096

    private let idle: TimeAmount?
    /// The status for a request (the server records it and follows its script).
    private let answer: (APNsTestServer.Received) -> Int
    private var open: [HTTP2StreamID: Request] = [:]
    private var window = ConnectionWindow()
    private var wrote = false
    /// Bumped when the connection falls idle and when a stream opens: a close scheduled
    /// before is void.
    private var idleSpells = 0

    init(idle: TimeAmount?, answer: @escaping (APNsTestServer.Received) -> Int) {
        self.idle = idle
        self.answer = answer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .headers(let headers):
            var request = open[frame.streamID] ?? Request()
            if open[frame.streamID] == nil { idleSpells += 1 }
            for (name, value, _) in headers.headers {
                if name == ":path" {
                    request.path = value
                } else if !name.hasPrefix(":") {
                    request.headers[name] = value
                }
            }
            open[frame.streamID] = request
            if headers.endStream { respond(frame.streamID, context: context) }
        case .data(let data):
            guard case .byteBuffer(var bytes) = data.data else { return }
            if var request = open[frame.streamID] {
                let room = Self.bodyLimit - request.body.readableBytes
                if room > 0, let slice = bytes.readSlice(length: min(room, bytes.readableBytes)) {
                    request.body.writeImmutableBuffer(slice)
                }
                open[frame.streamID] = request
            }
            if data.endStream { respond(frame.streamID, context: context) }
            if let update = window.update(after: data) { context.writeAndFlush(wrapOutboundOut(update), promise: nil) }
        default:
            // SETTINGS, PING and WINDOW_UPDATE are NIOHTTP2Handler's to answer.
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Answers go out once per read, however many streams it completed.
        if wrote {
            wrote = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? StreamClosedEvent, open.removeValue(forKey: event.streamID) != nil, open.isEmpty {
            becameIdle(context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    private func respond(_ id: HTTP2StreamID, context: ChannelHandlerContext) {
        guard let request = open.removeValue(forKey: id) else { return }
        let prefix = "/3/device/"
        let status: Int
        if request.path.hasPrefix(prefix) {
            let token = String(request.path.dropFirst(prefix.count))
            status = answer(.init(token: token, headers: request.headers, body: String(buffer: request.body)))
        } else {
            status = 404
        }
        wrote = true
        if status == 200 {
            context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: [":status": "200"], endStream: true)))), promise: nil)
        } else {
            let reason = [400: "BadDeviceToken", 404: "BadPath", 410: "Unregistered", 429: "TooManyRequests"][status] ?? "InternalServerError"
            // A token that is gone also says since when, in milliseconds.
            let json = status == 410 ? "{\"reason\":\"\(reason)\",\"timestamp\":1796083200000}" : "{\"reason\":\"\(reason)\"}"
            let headers: HPACKHeaders = [":status": String(status), "content-type": "application/json"]
            context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers)))), promise: nil)
            // The reason and the stream's end in one DATA frame, as APNs sends them.
            context.write(
                wrapOutboundOut(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(ByteBuffer(string: json)), endStream: true)))),
                promise: nil)
        }
        if open.isEmpty { becameIdle(context: context) }
    }

    /// With `idle` set, the connection closes when no stream opens for that long after its
    /// last one ended. The clock starts at a stream's end, not at the connection's start: on
    /// a loaded machine a TLS handshake alone can take longer than a test's idle time.
    private func becameIdle(context: ChannelHandlerContext) {
        guard let idle else { return }
        idleSpells += 1
        let spell = idleSpells
        context.eventLoop.assumeIsolated().scheduleTask(in: idle) { [self] in
            if spell == idleSpells, open.isEmpty { context.close(promise: nil) }
        }
    }
}
