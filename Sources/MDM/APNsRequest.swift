import NIOCore
import NIOHPACK

/// One push as the connection sends it.
struct APNsRequest: Sendable {
    var headers: HPACKHeaders
    var body: ByteBuffer
    var promise: EventLoopPromise<APNsResponse>
}
