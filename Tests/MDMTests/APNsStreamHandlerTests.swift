@testable import MDM
import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import Synchronization
import Testing

/// The handler on its own, frames in and out: what it opens and when.
@Suite("APNs streams")
struct APNsStreamHandlerTests {
    /// Opens a channel whose server allows `limit` concurrent streams.
    private static func channel(limit: Int) throws -> (EmbeddedChannel, EventLoopFuture<Void>) {
        let channel = EmbeddedChannel()
        let ready = channel.eventLoop.makePromise(of: Void.self)
        try channel.pipeline.syncOperations.addHandler(APNsStreamHandler(ready: ready))
        try channel.writeInbound(settings(limit: limit))
        return (channel, ready.futureResult)
    }

    /// The server's SETTINGS with its limit on concurrent streams.
    private static func settings(limit: Int) -> HTTP2Frame {
        HTTP2Frame(streamID: .rootStream, payload: .settings(.settings([.init(parameter: .maxConcurrentStreams, value: limit)])))
    }

    private static func push(_ channel: EmbeddedChannel, _ token: String) -> EventLoopFuture<APNsResponse> {
        let promise = channel.eventLoop.makePromise(of: APNsResponse.self)
        let request = APNsRequest(headers: [":path": "/3/device/\(token)"], body: ByteBuffer(string: "{}"), promise: promise)
        channel.writeAndFlush(request, promise: nil)
        return promise.futureResult
    }

    /// The paths of the streams opened since the last call, in order.
    private static func opened(_ channel: EmbeddedChannel) throws -> [String] {
        var paths: [String] = []
        while let frame = try channel.readOutbound(as: HTTP2Frame.self) {
            if case .headers(let headers) = frame.payload { paths.append(headers.headers.first(name: ":path") ?? "") }
        }
        return paths
    }

    /// A future's result without waiting: the embedded loop has run all it will, and a
    /// future it left pending fails the test rather than hanging it.
    private static func outcome<T: Sendable>(_ future: EventLoopFuture<T>) -> Result<T, any Error>? {
        let outcome = Mutex<Result<T, any Error>?>(nil)
        future.whenComplete { result in outcome.withLock { $0 = result } }
        return outcome.withLock { $0 }
    }

    private static func answer(_ channel: EmbeddedChannel, stream: Int, status: Int) throws {
        try channel.writeInbound(HTTP2Frame(
            streamID: HTTP2StreamID(stream), payload: .headers(.init(headers: [":status": "\(status)"], endStream: true))))
    }

    @Test func pushesPastTheServersLimitWaitAndGoInOrderAsStreamsEnd() throws {
        let (channel, ready) = try Self.channel(limit: 2)
        #expect(throws: Never.self) { try #require(Self.outcome(ready)).get() }
        let pushes = (0..<5).map { Self.push(channel, "t\($0)") }
        #expect(try Self.opened(channel) == ["/3/device/t0", "/3/device/t1"])

        try Self.answer(channel, stream: 1, status: 200)
        #expect(try Self.outcome(pushes[0])?.get().status == 200)
        #expect(try Self.opened(channel) == ["/3/device/t2"])

        // A later SETTINGS raises the limit: the rest go at once.
        try channel.writeInbound(Self.settings(limit: 10))
        #expect(try Self.opened(channel) == ["/3/device/t3", "/3/device/t4"])
        #expect(try Self.opened(channel) == [])
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    @Test func aClosedConnectionFailsTheWaitingPushesToo() throws {
        let (channel, _) = try Self.channel(limit: 1)
        let pushes = (0..<3).map { Self.push(channel, "t\($0)") }
        #expect(try Self.opened(channel) == ["/3/device/t0"])
        _ = try channel.finish(acceptAlreadyClosed: true)
        for push in pushes {
            #expect(throws: APNsConnectionError.closed) { try #require(Self.outcome(push)).get() }
        }
    }
}
