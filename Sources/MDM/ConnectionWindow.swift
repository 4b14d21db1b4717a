import NIOCore
import NIOHTTP2

/// The receive side of an HTTP/2 connection's flow-control window, where frames are read
/// on the connection itself rather than by stream channels (which would give the bytes back
/// themselves): DATA received is given back in steps of half the default window, so the
/// peer never stalls on bytes nobody counted.
public struct ConnectionWindow {
    private var unacknowledged = 0

    public init() {}

    /// The WINDOW_UPDATE to write once `data` is read, if one is due.
    public mutating func update(after data: HTTP2Frame.FramePayload.Data) -> HTTP2Frame? {
        unacknowledged += data.data.readableBytes + (data.paddingBytes.map { $0 + 1 } ?? 0)
        guard unacknowledged >= 32_768 else { return nil }
        defer { unacknowledged = 0 }
        return HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: unacknowledged))
    }
}
