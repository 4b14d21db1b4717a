import NIOCore

/// What APNs answered: the status and up to `APNsStreamHandler.bodyLimit` bytes of body.
struct APNsResponse: Sendable {
    var status: Int
    var body: ByteBuffer
}
