import Foundation
import HTTPTypes
import Hummingbird

/// An admin API error: a status and a stable code, as JSON `{"error": {"code", "message"}}`.
/// The message never holds a token or a secret.
public struct AdminError: Error, Sendable {
    public enum Code: String, Sendable {
        case unauthorized
        case forbidden
        case rateLimited = "rate_limited"
        case stateUnavailable = "state_unavailable"
        case notFound = "not_found"
        case methodNotAllowed = "method_not_allowed"
        case badRequest = "bad_request"
        case tooLarge = "too_large"
        case timeout
    }

    var status: HTTPResponse.Status
    var code: Code
    var message: String
    var headers: HTTPFields = [:]

    func response() -> Response {
        let body = try? JSONSerialization.data(
            withJSONObject: ["error": ["code": code.rawValue, "message": message]], options: [.sortedKeys])
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body ?? Data())))
    }
}
