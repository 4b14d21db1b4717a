import HTTPTypes
import Hummingbird
import NIOCore

/// Reads a request body within a size and a time limit. Each refusal closes the
/// connection (`Connection: close`, acted on by `CloseOnRefusalHandler`): the rest of an
/// oversized or stalled body is never drained.
enum BoundedBody {
    /// - A declared Content-Length over `limit` is refused up front, before a byte is read.
    /// - More than `limit` bytes as they arrive (chunked): 413 at once.
    /// - A body not complete within `timeout`: 408.
    /// - A malformed body (a bad chunk): 400.
    static func collect(_ request: Request, upTo limit: Int, timeout: Duration) async throws -> ByteBuffer {
        if let declared = request.headers[.contentLength] {
            guard let length = Int(declared) else { throw refusal(.badRequest, "the Content-Length is not a number") }
            guard length <= limit else { throw refusal(.contentTooLarge, "the request body is over \(limit) bytes") }
        }
        let reading = request
        do {
            return try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
                group.addTask {
                    var request = reading
                    return try await request.collectBody(upTo: limit)
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let body = try await group.next() ?? nil else {
                    throw refusal(.requestTimeout, "the request body did not arrive in time")
                }
                return body
            }
        } catch let error as HTTPError {
            throw error
        } catch is NIOTooManyBytesError {
            throw refusal(.contentTooLarge, "the request body is over \(limit) bytes")
        } catch {
            throw refusal(.badRequest, "the request body is malformed")
        }
    }

    static func refusal(_ status: HTTPResponse.Status, _ message: String) -> HTTPError {
        HTTPError(status, headers: [.connection: "close"], message: message)
    }
}
