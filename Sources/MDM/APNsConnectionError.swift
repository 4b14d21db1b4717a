/// Why a push never got an answer.
enum APNsConnectionError: Error, Sendable {
    /// The connection closed, or said GOAWAY, before the answer.
    case closed
    /// The server reset the stream.
    case reset
    /// The server did not agree to HTTP/2 in the TLS handshake.
    case notHTTP2
    /// No answer within the push's timeout.
    case timedOut
}
